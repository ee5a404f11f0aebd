"""The talent registry export through the API: a period's full records as CSV and
JSON, and a manifest whose signature and hashes a receiving system checks."""
import csv
import hashlib
import io
import json
import zipfile
from datetime import datetime, timezone

import pytest

from services.certificate import signing
from tests.support import certificate_flow, people


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T04:00:00").replace(tzinfo=timezone.utc)


def test_export_a_period_check_counts_signature_and_hashes(services, bus):
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    _, before = certificate_flow.issue(bus, sink, _at("2026-02-27"))
    _, first = certificate_flow.issue(bus, sink, _at("2026-03-10"), full_name="王小明")
    _, second = certificate_flow.issue(bus, sink, _at("2026-05-20"), full_name="李小红", level="L3")
    admin = services.client("certificate", "admin")
    holder = people.id_number(seq=31)
    imported = admin.request("POST", "/certificate/imports", headers={"Content-Type": "text/csv"}, data=(
        f"number,name,id_number,level,issue_date,base\r\nJX-OLD-9,赵六,{holder},L4,2026-04-01,江西老基地\r\n"
        ).encode())
    assert imported.json()["imported"] == 1
    number = first.data["certificate_number"]
    assert admin.post(f"/certificate/certificates/{number}/corrections",
                      json={"holder_name": "王晓明", "reason": "name misspelt"}).status_code == 201
    assert admin.post(f"/certificate/certificates/{second.data['certificate_number']}/revocation",
                      json={"reason": "forged"}).status_code == 200

    answer = admin.post("/certificate/registry/talent-export", json={"issued_from": "2026-03-01",
                                                                     "issued_to": "2026-06-30"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/zip")
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert sorted(archive.namelist()) == ["manifest.json", "talent-registry.csv", "talent-registry.json"]

    keys = services.anonymous("certificate").get("/certificate/keys").json()
    manifest = signing.verify_manifest(json.loads(archive.read("manifest.json")), keys)
    assert (manifest["issued_from"], manifest["issued_to"]) == ("2026-03-01", "2026-06-30")
    assert manifest["counts"] == {"records": 4, "certificates": 3, "by_level": {"L3": 1, "L4": 3},
                                  "by_status": {"revoked": 1, "superseded": 1, "valid": 2},
                                  "by_origin": {"imported": 1, "issued": 3}}
    for entry in manifest["files"]:
        body = archive.read(entry["name"])
        assert hashlib.sha256(body).hexdigest() == entry["sha256"] and len(body) == entry["bytes"]
    rows = list(csv.DictReader(io.StringIO(archive.read("talent-registry.csv").decode("utf-8-sig"))))
    records = json.loads(archive.read("talent-registry.json"))["records"]
    assert len(rows) == len(records) == manifest["counts"]["records"]
    assert [(r["number"], r["serial"]) for r in rows] == [(r["number"], str(r["serial"])) for r in records]
    assert before.data["certificate_number"] not in {r["number"] for r in records}
    assert {r["status"] for r in records if r["number"] == number} == {"superseded", "valid"}
    assert "id_number_hash" not in rows[0]

    # A receiver notices a changed file or manifest.
    tampered = json.loads(archive.read("manifest.json"))
    tampered["manifest"]["counts"]["records"] = 5
    with pytest.raises(signing.BadDocument):
        signing.verify_manifest(tampered, keys)

    bad = admin.post("/certificate/registry/talent-export", json={"issued_from": "2026-06-30",
                                                                  "issued_to": "2026-03-01"})
    assert bad.status_code == 422 and "issued_to" in bad.json()["errors"]
    assert admin.post("/certificate/registry/talent-export", json={}).status_code == 422
    assert services.client("certificate", "base_operator", base="B001").post(
        "/certificate/registry/talent-export", json={"issued_from": "2026-03-01", "issued_to": "2026-06-30"}
    ).status_code == 403


def test_the_receivers_check_finds_a_changed_file(services, bus, tmp_path, capsys):
    from services.certificate import verify_export
    sink = bus.sink("certificate.issued")
    services.start("certificate")
    certificate_flow.issue(bus, sink, _at("2026-03-10"))
    admin = services.client("certificate", "admin")
    export = admin.post("/certificate/registry/talent-export", json={"issued_from": "2026-03-01",
                                                                     "issued_to": "2026-03-31"}).content
    keys = tmp_path / "keys.json"
    keys.write_text(services.anonymous("certificate").get("/certificate/keys").text)
    good = tmp_path / "good.zip"
    good.write_bytes(export)
    assert verify_export.main([str(good), "--keys", str(keys)]) == 0
    assert "VALID: 1 records of 1 certificates" in capsys.readouterr().out

    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(io.BytesIO(export)) as source, zipfile.ZipFile(changed, "w") as target:
        for name in source.namelist():
            body = source.read(name)
            target.writestr(name, body.replace(b"valid", b"VALID") if name.endswith(".csv") else body)
    assert verify_export.main([str(changed), "--keys", str(keys)]) == 1
    assert "talent-registry.csv: its size or SHA-256 differs" in capsys.readouterr().out
