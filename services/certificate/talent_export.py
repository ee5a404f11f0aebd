"""The talent registry export (人才库): the full records of a period as CSV and JSON,
with a manifest a receiving system checks it got everything by. Pure: records in,
file bytes and the manifest out (the action signs the manifest, the service zips).

The manifest states the period, the counts (records, certificate numbers, by level,
status and origin) and, for each file, its name, media type, size, record count
and SHA-256. It is signed like a certificate file: Ed25519 over its canonical JSON
(keys sorted, no spaces, UTF-8), with the key id of GET /certificate/keys.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from datetime import date, datetime

FIELDS = ("certificate_id", "number", "serial", "status", "origin", "holder_name", "id_number_masked", "level",
          "issued_on", "base_code", "base_name", "issued_at", "status_changed_at", "correction_reason",
          "revocation_reason", "imported_at", "imported_by", "import_file_sha256", "key_id", "signature")
CSV_NAME, JSON_NAME, MANIFEST_NAME = "talent-registry.csv", "talent-registry.json", "manifest.json"
KIND = "cea-talent-registry-export"


def record(certificate) -> dict:
    """One record as exported: every field of the registry but the keyed ID hash."""
    def value(field):
        raw = getattr(certificate, field)
        if isinstance(raw, (date, datetime)):
            return raw.isoformat()
        return raw if raw is None or isinstance(raw, int) else str(raw)
    return {field: value(field) for field in FIELDS}


def records_csv(records: list[dict]) -> bytes:
    """UTF-8 with a byte-order mark (spreadsheets), CRLF lines; empty cell for none."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for r in records:
        writer.writerow(["" if r[f] is None else _cell(r[f]) for f in FIELDS])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _cell(value):
    """A spreadsheet must not run a cell as a formula (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def records_json(records: list[dict], issued_from: date, issued_to: date) -> bytes:
    return json.dumps({"kind": KIND, "issued_from": issued_from.isoformat(), "issued_to": issued_to.isoformat(),
                       "records": records}, ensure_ascii=False, indent=1).encode("utf-8")


def counts(records: list[dict]) -> dict:
    return {"records": len(records), "certificates": len({r["number"] for r in records}),
            "by_level": dict(sorted(Counter(r["level"] for r in records).items())),
            "by_status": dict(sorted(Counter(r["status"] for r in records).items())),
            "by_origin": dict(sorted(Counter(r["origin"] for r in records).items()))}


def file_entry(name: str, media_type: str, body: bytes, records: int) -> dict:
    return {"name": name, "media_type": media_type, "bytes": len(body), "records": records,
            "sha256": hashlib.sha256(body).hexdigest()}


def manifest(records: list[dict], files: list[dict], issued_from: date, issued_to: date,
             generated_at: datetime) -> dict:
    return {"kind": KIND, "version": 1, "issued_from": issued_from.isoformat(), "issued_to": issued_to.isoformat(),
            "generated_at": generated_at.isoformat(), "counts": counts(records), "files": files}


def canonical_bytes(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
