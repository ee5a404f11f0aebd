"""Verify a downloaded certificate file offline against the program's published keys.

    python -m services.certificate.verify_file cert.json --keys keys.json

`keys.json` is what `GET /certificate/keys` answers (save it once; no network is
needed here). Exit status 0 when the signature verifies, 1 when it does not, 2 when
a file cannot be read. Whether the certificate was since superseded or revoked is
only known online: the public verification page says so.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .signing import BadDocument, verify_document


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.certificate.verify_file",
                                     description="Verify a certificate file's signature offline.")
    parser.add_argument("certificate", type=Path, help="the certificate file (JSON)")
    parser.add_argument("--keys", type=Path, required=True, help="the published keys (GET /certificate/keys)")
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.certificate.read_text(encoding="utf-8"))
        key_set = json.loads(args.keys.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        content = verify_document(document, key_set)
    except BadDocument as exc:
        print(f"NOT VALID 签名无效: {exc}")
        return 1
    print(f"VALID 签名有效: signed with key {document['key_id']}")
    for field in ("number", "serial", "holder_name", "id_number_masked", "level", "issued_on", "base_name"):
        print(f"  {field}: {content[field]}")
    if content.get("origin") == "imported":
        print(f"  imported on {content['imported_on']} from a file with SHA-256 {content['import_file_sha256']} "
              "(issued before this system; signed as a record of that import)")
    print("Its current status (valid, superseded, revoked) is shown by the public verification page.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
