"""The bulk-enrollment CSV format (services/enrollment/bulk_csv.py), without a service."""
from pathlib import Path

import pytest

from services.enrollment import bulk_csv, schemas
from shared.errors import InvalidInput
from shared.uploads import decode_text, from_bytes

ROOT = Path(__file__).resolve().parents[2]
HEADER = "full_name,id_number,mobile,level,education_tier,education_status,related_work_months,sector\r\n"
ROW = "张三,11010519491231002X,13800138000,L4,bachelor,graduated,24,power\r\n"


def read(raw: bytes, max_rows: int, charset=None):
    """The sheet, with its rows read back as the service reads them (in chunks)."""
    sheet = bulk_csv.read(from_bytes(raw), max_rows, charset)
    sheet.all_rows = [row for chunk in sheet.chunks(3) for row in chunk]
    return sheet


@pytest.mark.parametrize("raw, encoding", [
    ((HEADER + ROW).encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + (HEADER + ROW).encode("utf-8"), "utf-8-sig"),
    ((HEADER + ROW).encode("gbk"), "gbk"),
    ((HEADER + "𠀀𠀁,11010519491231002X,13800138000,L4,bachelor,graduated,24,power\r\n").encode("gb18030"), "gbk"),
])
def test_utf8_with_or_without_bom_and_gbk_are_detected(raw, encoding):
    sheet = read(raw, 10)
    assert sheet.encoding == encoding
    assert sheet.all_rows[0].values["id_number"] == "11010519491231002X"
    assert sheet.all_rows[0].values["full_name"] in ("张三", "𠀀𠀁")


def test_gbk_chinese_is_never_mistaken_for_utf8():
    raw = "姓名,身份证号\r\n王小明,1\r\n".encode("gbk")
    assert decode_text(raw) == ("姓名,身份证号\r\n王小明,1\r\n", "gbk")


@pytest.mark.parametrize("raw", ["张三".encode("utf-16"), b"", b"\r\n\r\n", HEADER.encode()])
def test_files_no_row_could_survive_are_refused_whole(raw):
    with pytest.raises(InvalidInput) as refused:
        read(raw, 10)
    assert "file" in refused.value.extra["errors"]


def test_a_missing_required_column_is_named():
    with pytest.raises(InvalidInput, match="mobile, level"):
        read("full_name,id_number\r\n张三,1\r\n".encode(), 10)


def test_more_rows_than_allowed_is_refused():
    with pytest.raises(InvalidInput, match="more than 2 rows"):
        read((HEADER + ROW * 3).encode(), 2)


def test_chinese_headers_any_order_unknown_columns_ignored_blank_rows_skipped_rows_numbered():
    raw = ("备注,行业,相关工作月数,学历状态,学历,级别,手机号,身份证号,姓名\r\n"
           "x,电力,24.0,在读,本科,四级,13800138000,11010519491231002x,张三\r\n"
           ",,,,,,,,\r\n"
           "\r\n"
           "y,其他,0,毕业,中专,四级,13800138001,110105194912310038,李四\r\n").encode("gbk")
    sheet = read(raw, 10)
    assert sheet.ignored_columns == ["备注"]
    assert [r.number for r in sheet.all_rows] == [2, 5]
    body = schemas.Application().load(bulk_csv.application_from(sheet.all_rows[0].values))
    assert body["level"] == "L4" and body["sector"] == "power" and body["related_work_months"] == 24
    assert body["education"] == {"tier": "bachelor", "status": "studying"}
    assert body["work_months_since_l4"] == 0 and body["invoice_title"] is None


def test_a_bad_value_is_left_for_the_schema_to_name_with_the_csv_column():
    sheet = read((HEADER + "张三,1,2,L5,大学,毕业,abc,power\r\n").encode(), 10)
    with pytest.raises(Exception) as refused:
        schemas.Application().load(bulk_csv.application_from(sheet.all_rows[0].values))
    errors = bulk_csv.field_errors(refused.value.messages)
    assert {"level", "education_tier", "related_work_months", "id_number"} <= set(errors)


def test_the_template_reads_back_as_a_valid_application():
    sheet = read(bulk_csv.template(), 10)
    assert sheet.encoding == "utf-8-sig" and sheet.rows == len(sheet.all_rows) == 1
    schemas.Application().load(bulk_csv.application_from(sheet.all_rows[0].values))


def test_the_documented_columns_are_the_ones_the_service_reads():
    assert bulk_csv.describe_columns() in (ROOT / "docs" / "bulk-enrollment.md").read_text()


@pytest.mark.parametrize("name, encoding", [("佐藤花子", "shift_jis"), ("さとう はなこ", "shift_jis"),
                                            ("陳美玲", "big5"), ("張三豐", "big5")])
def test_another_cjk_encoding_is_refused_not_enrolled_garbled(name, encoding):
    raw = (HEADER + ROW + ROW.replace("张三", name)).encode(encoding, errors="replace")
    with pytest.raises(InvalidInput) as refused:
        read(raw, 10)
    assert "line" in refused.value.detail and "another encoding" in refused.value.detail


def test_a_declared_charset_is_honoured_and_an_unknown_one_refused():
    raw = (HEADER + ROW.replace("张三", "陳美玲")).encode("big5")
    assert read(raw, 10, charset="big5").all_rows[0].values["full_name"] == "陳美玲"
    with pytest.raises(InvalidInput, match="bogus"):
        read((HEADER + ROW).encode(), 10, charset="bogus")
    with pytest.raises(InvalidInput, match="line 3 is not the declared utf-8"):
        read((HEADER + ROW).encode() + ROW.encode("gbk"), 10, charset="utf-8")


def test_bytes_that_are_neither_utf8_nor_gbk_are_refused_naming_the_line():
    with pytest.raises(InvalidInput, match="line 3"):
        read((HEADER + ROW).encode("gbk") + b"\xff\xfe\x80,1\r\n", 10)


def test_a_file_without_line_breaks_is_refused_not_a_crash():
    with pytest.raises(InvalidInput, match="line 2 is not CSV"):
        read((HEADER + "x" * 200_000).encode(), 10)


def test_a_nul_in_a_cell_fails_its_row_naming_the_column_never_stored():
    sheet = read((HEADER + ROW.replace("张三", "张\x00三")).encode(), 10)
    with pytest.raises(Exception) as refused:
        schemas.Application().load(bulk_csv.application_from(sheet.all_rows[0].values))
    assert "NUL" in bulk_csv.field_errors(refused.value.messages)["full_name"][0]
