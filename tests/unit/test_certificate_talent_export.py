"""The talent registry export: its records, files, counts and the signed manifest."""
import csv
import hashlib
import io
import json
import uuid
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.certificate import signing, talent_export

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=timezone.utc)


def _certificate(number, serial=1, status="valid", origin="issued", level="L4", name="王小明"):
    return SimpleNamespace(
        certificate_id=uuid.uuid4(), number=number, serial=serial, status=status, origin=origin, holder_name=name,
        id_number_masked="3604**********0071", level=level, issued_on=date(2026, 3, 1), base_code="B001",
        base_name="江西碳排放培训基地", issued_at=NOW, status_changed_at=None, correction_reason=None,
        revocation_reason=None, imported_at=None, imported_by=None, import_file_sha256=None, key_id="k",
        signature="sig", id_number_hash="secret")


def _records():
    return [talent_export.record(c) for c in (
        _certificate("N1", status="superseded"), _certificate("N1", serial=2, name="王晓明"),
        _certificate("N2", status="revoked", level="L3"), _certificate("OLD-1", origin="imported", name="=cmd"))]


def test_a_record_has_every_registry_field_but_the_keyed_id_hash():
    record = _records()[0]
    assert set(record) == set(talent_export.FIELDS) and "id_number_hash" not in record
    assert record["issued_on"] == "2026-03-01" and record["serial"] == 1 and record["imported_at"] is None


def test_the_counts_tell_records_numbers_levels_statuses_and_origins():
    assert talent_export.counts(_records()) == {
        "records": 4, "certificates": 3, "by_level": {"L3": 1, "L4": 3},
        "by_status": {"revoked": 1, "superseded": 1, "valid": 2}, "by_origin": {"imported": 1, "issued": 3}}


def test_the_csv_and_json_hold_the_same_records_and_a_formula_is_not_run():
    records = _records()
    as_csv = talent_export.records_csv(records)
    assert as_csv.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(as_csv.decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == ["N1", "N1", "N2", "OLD-1"]
    assert rows[3]["holder_name"] == "'=cmd" and rows[0]["imported_at"] == ""
    as_json = json.loads(talent_export.records_json(records, date(2026, 1, 1), date(2026, 12, 31)))
    assert as_json["records"] == records and as_json["issued_from"] == "2026-01-01"


def test_the_signed_manifest_verifies_and_any_change_to_it_does_not():
    signer = signing.Signer("k-2026", Ed25519PrivateKey.generate())
    records, body = _records(), b"file"
    files = [talent_export.file_entry("a.csv", "text/csv", body, 4)]
    signed = signer.sign_manifest(talent_export.manifest(records, files, date(2026, 1, 1), date(2026, 12, 31), NOW))
    manifest = signing.verify_manifest(json.loads(json.dumps(signed)), signer.key_set())
    assert manifest["files"][0]["sha256"] == hashlib.sha256(body).hexdigest()
    assert manifest["counts"]["records"] == 4 and manifest["generated_at"] == NOW.isoformat()
    signed["manifest"]["counts"]["records"] = 3
    with pytest.raises(signing.BadDocument, match="does not match"):
        signing.verify_manifest(signed, signer.key_set())
    with pytest.raises(signing.BadDocument, match="not among"):
        signing.verify_manifest(signed, {"keys": []})
