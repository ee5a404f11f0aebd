"""Certificates issued before this system: the rules of an import row, what the same
row again does, the CSV's columns and encodings, and the import's signed content."""
import uuid
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from services.certificate import domain, imports
from shared.errors import InvalidInput
from shared.identity import keyed_hash
from shared.uploads import from_bytes
from tests.support import people

TODAY = date(2026, 11, 29)
KEY = b"k"


def _values(**overrides):
    values = {"number": "JX-L4-2025-0001", "holder_name": "王小明", "id_number": people.id_number(seq=3),
              "level": "L4", "issued_on": "2025-10-01", "base_name": "江西碳排放培训基地", "base_code": "B001"}
    return {**values, **overrides}


def test_a_good_row_is_read_with_chinese_level_and_spreadsheet_dates():
    row, reasons = domain.check_import_row(_values(level="四级", issued_on="2025年10月1日",
                                                   number=" jx-l4-2025-0001 "), TODAY)
    assert reasons == []
    assert (row.number, row.level, row.issued_on) == ("JX-L4-2025-0001", "L4", date(2025, 10, 1))


@pytest.mark.parametrize("field, value, reason", [
    ("number", "", "number: missing"),
    ("holder_name", "  ", "holder_name: missing"),
    ("level", "L5", "level: must be L4 (四级) or L3 (三级)"),
    ("issued_on", "2025-02-30", "issued_on: not a date (YYYY-MM-DD)"),
    ("issued_on", "2026-11-30", "issued_on: in the future"),
    ("base_name", "", "base_name: missing"),
])
def test_a_bad_row_is_answered_with_the_reason(field, value, reason):
    row, reasons = domain.check_import_row(_values(**{field: value}), TODAY)
    assert row is None and reasons == [reason]


def test_an_invalid_id_number_is_named_without_quoting_it():
    bad = "360402199003071234"
    _, reasons = domain.check_import_row(_values(id_number=bad), TODAY)
    assert len(reasons) == 1 and reasons[0].startswith("id_number: ") and bad not in reasons[0]


def test_every_reason_of_a_row_is_given():
    _, reasons = domain.check_import_row(_values(number="", level="", issued_on="soon"), TODAY)
    assert [r.split(":")[0] for r in reasons] == ["number", "level", "issued_on"]


def _existing(row, origin="imported", **overrides):
    return SimpleNamespace(origin=origin, holder_name=row.holder_name,
                           id_number_hash=keyed_hash(row.id_number, KEY), level=row.level,
                           issued_on=row.issued_on, **overrides)


def test_the_same_row_twice_imports_once():
    row, _ = domain.check_import_row(_values(), TODAY)
    own = keyed_hash(row.id_number, KEY)
    assert domain.import_outcome(row, own, None) == ("imported", [])
    assert domain.import_outcome(row, own, _existing(row)) == ("already_imported", [])
    spaced, _ = domain.check_import_row(_values(holder_name=" 王小明　"), TODAY)
    assert domain.import_outcome(spaced, own, _existing(row)) == ("already_imported", [])


def test_a_number_imported_with_other_details_or_issued_here_is_refused():
    row, _ = domain.check_import_row(_values(), TODAY)
    own = keyed_hash(row.id_number, KEY)
    other_date = _existing(row)
    other_date.issued_on = date(2025, 10, 2)
    outcome, reasons = domain.import_outcome(row, own, other_date)
    assert outcome == "refused" and "other details" in reasons[0]
    outcome, reasons = domain.import_outcome(row, own, _existing(row, origin="issued"))
    assert outcome == "refused" and "this system issued" in reasons[0]


def test_the_signed_content_of_an_imported_certificate_says_so():
    certificate = SimpleNamespace(
        certificate_id=uuid.uuid4(), number="JX-L4-2025-0001", serial=1, level="L4", holder_name="王小明",
        id_number_masked="3604**********0071", issued_on=date(2025, 10, 1), base_code="B001",
        base_name="江西碳排放培训基地", origin="imported",
        imported_at=datetime(2026, 11, 28, 17, 0, tzinfo=timezone.utc), import_file_sha256="ab" * 32)
    content = domain.signed_content(certificate)
    assert content["origin"] == "imported" and content["issued_on"] == "2025-10-01"
    assert content["imported_on"] == "2026-11-29"  # the import's date in Asia/Shanghai
    assert content["import_file_sha256"] == "ab" * 32
    assert domain.canonical_bytes(content)  # the import's fields are part of the signed form
    certificate.origin = "issued"
    assert set(domain.signed_content(certificate)) == set(domain.SIGNED_FIELDS)


def _csv(text: str, encoding="utf-8") -> bytes:
    return text.encode(encoding)


def test_the_file_reads_utf8_with_bom_and_gbk_with_chinese_headers():
    body = "证书编号,姓名,身份证号,级别,发证日期,培训基地\r\nJX-1,王小明,X,四级,2025/10/1,江西基地\r\n"
    for raw in (b"\xef\xbb\xbf" + _csv(body), _csv(body, "gbk"), _csv(body)):
        rows = imports.rows(from_bytes(raw), 100)
        assert rows == [(2, {"number": "JX-1", "holder_name": "王小明", "id_number": "X", "level": "四级",
                             "issued_on": "2025/10/1", "base_name": "江西基地"})]


def test_a_file_missing_a_column_or_rows_is_refused_whole():
    with pytest.raises(InvalidInput, match="id_number"):
        imports.rows(from_bytes(b"number,name,level,issued_on,base\r\nX,Y,L4,2025-01-01,B\r\n"), 100)
    with pytest.raises(InvalidInput, match="no rows"):
        imports.rows(from_bytes(b"number,name,id_number,level,issued_on,base\r\n"), 100)
    with pytest.raises(InvalidInput, match="more than 1 rows"):
        imports.rows(from_bytes(b"number,name,id_number,level,issued_on,base\r\n1,a,b,c,d,e\r\n2,a,b,c,d,e\r\n"), 1)


def test_a_number_of_this_systems_form_is_not_imported():
    _, reasons = domain.check_import_row(_values(number=domain.certificate_number("L4", 2027, "B001", 1)), TODAY)
    assert len(reasons) == 1 and reasons[0].startswith("number: has the form of the numbers this system issues")


def test_an_import_counts_its_rows_by_outcome():
    results = [{"outcome": "imported"}, {"outcome": "refused"}, {"outcome": "imported"}]
    assert domain.import_counts(results) == {"imported": 2, "already_imported": 0, "refused": 1}
