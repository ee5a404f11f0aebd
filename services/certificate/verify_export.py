"""Check a talent registry export (人才库) as the receiving system does: the manifest's
signature against the program's published keys, then every file's size, SHA-256
and record count against the manifest.

    python -m services.certificate.verify_export talent-registry-….zip --keys keys.json

`keys.json` is what `GET /certificate/keys` answers. Exit status 0 when everything
holds, 1 when something does not (each finding printed), 2 when a file cannot be read.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

from . import talent_export
from .signing import BadDocument, verify_manifest


def check(archive: zipfile.ZipFile, key_set: dict) -> tuple[dict, list[str]]:
    """(the verified manifest, every finding); BadDocument when the manifest does not verify."""
    manifest = verify_manifest(json.loads(archive.read(talent_export.MANIFEST_NAME)), key_set)
    findings = []
    names = set(archive.namelist()) - {talent_export.MANIFEST_NAME}
    for entry in manifest["files"]:
        if entry["name"] not in names:
            findings.append(f"{entry['name']}: missing")
            continue
        names.discard(entry["name"])
        body = archive.read(entry["name"])
        if len(body) != entry["bytes"] or hashlib.sha256(body).hexdigest() != entry["sha256"]:
            findings.append(f"{entry['name']}: its size or SHA-256 differs from the manifest's")
            continue
        if _records(entry["name"], body) != entry["records"]:
            findings.append(f"{entry['name']}: holds another number of records than the manifest says")
    findings += [f"{name}: not in the manifest" for name in sorted(names)]
    return manifest, findings


def _records(name: str, body: bytes) -> int:
    if name.endswith(".csv"):
        return sum(1 for _ in csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    return len(json.loads(body)["records"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.certificate.verify_export",
                                     description="Check a talent registry export against its signed manifest.")
    parser.add_argument("export", type=Path, help="the export (ZIP)")
    parser.add_argument("--keys", type=Path, required=True, help="the published keys (GET /certificate/keys)")
    args = parser.parse_args(argv)
    try:
        archive = zipfile.ZipFile(args.export)
        key_set = json.loads(args.keys.read_text(encoding="utf-8"))
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        manifest, findings = check(archive, key_set)
    except (BadDocument, KeyError, ValueError) as exc:
        print(f"NOT VALID: {exc}")
        return 1
    for finding in findings:
        print(f"NOT VALID: {finding}")
    if findings:
        return 1
    counts = manifest["counts"]
    print(f"VALID: {counts['records']} records of {counts['certificates']} certificates issued "
          f"{manifest['issued_from']} to {manifest['issued_to']}, every file as the signed manifest says")
    return 0


if __name__ == "__main__":
    sys.exit(main())
