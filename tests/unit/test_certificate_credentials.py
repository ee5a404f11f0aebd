"""Certificates as W3C Verifiable Credentials (vc+jwt) and the Bitstring Status List."""
import base64
import gzip
import json
import re
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.certificate import credentials, domain, signing

BASE = "https://cert.example.cn"


def _certificate(**overrides):
    values = dict(certificate_id=uuid.UUID("0b8e4c1e-8d52-4a55-9a1c-2f5a0c1b7e01"),
                  number=domain.certificate_number("L4", 2026, "B001", 7), serial=1, level="L4",
                  holder_name="王小明", id_number_masked="3604**********0071", issued_on=date(2026, 11, 26),
                  base_code="B001", base_name="江西碳排放培训基地", origin="issued", status_index=42,
                  issued_at=datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc))
    return SimpleNamespace(**{**values, **overrides})


def test_the_credential_holds_the_signed_content_and_points_at_its_bit():
    claims = credentials.certificate_claims(_certificate(), BASE)
    assert claims["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert claims["type"] == ["VerifiableCredential", "VocationalCertificateCredential"]
    assert claims["id"] == "urn:uuid:0b8e4c1e-8d52-4a55-9a1c-2f5a0c1b7e01"
    assert claims["validFrom"] == "2026-11-26T00:00:00+08:00"
    assert claims["credentialSubject"]["certificate"]["number"] == "CEA-L4-2026-B001-000007-" + \
        domain.check_character("CEA-L4-2026-B001-000007")
    assert claims["credentialStatus"] == {
        "id": f"{BASE}/certificate/status-lists/revocation#42", "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation", "statusListIndex": "42",
        "statusListCredential": f"{BASE}/certificate/status-lists/revocation"}


def test_an_imported_certificate_keeps_its_original_issue_date_and_says_it_was_imported():
    claims = credentials.certificate_claims(_certificate(
        origin="imported", issued_on=date(2025, 10, 1), imported_at=datetime(2026, 11, 29, 2, tzinfo=timezone.utc),
        import_file_sha256="cd" * 32), BASE)
    held = claims["credentialSubject"]["certificate"]
    assert (held["origin"], held["issuedOn"], held["importedOn"]) == ("imported", "2025-10-01", "2026-11-29")
    assert credentials.issued_on(claims) == date(2025, 10, 1)


def test_the_status_list_is_gzip_base64url_multibase_with_bit_zero_leftmost():
    encoded = credentials.encode_status_list([0, 9, 131_071])
    assert encoded.startswith("u") and "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) == 16_384 and raw[0] == 0x80 and raw[1] == 0x40 and raw[-1] == 0x01
    assert [credentials.status_bit(encoded, i) for i in (0, 1, 9, 10, 131_071)] == [True, False, True, False, True]


def test_the_list_grows_in_16_kib_steps_and_refuses_an_index_outside_it():
    assert credentials.status_bit(credentials.encode_status_list([131_072]), 131_072)
    with pytest.raises(ValueError):
        credentials.status_bit(credentials.encode_status_list([]), 131_072)
    with pytest.raises(ValueError):
        credentials.status_bit("z" + credentials.encode_status_list([])[1:], 0)


def test_revoked_and_superseded_records_no_longer_stand():
    assert [credentials.stands(s) for s in ("valid", "revoked", "superseded")] == [True, False, False]


def test_a_credential_verifies_with_the_published_keys_only():
    signer = signing.Signer("k-2026", Ed25519PrivateKey.generate())
    token = signer.sign_jwt(credentials.certificate_claims(_certificate(), BASE))
    claims = signing.verify_jwt(token, signer.key_set())
    assert claims["credentialSubject"]["name"] == "王小明"
    other = signing.Signer("k-2026", Ed25519PrivateKey.generate())
    with pytest.raises(signing.BadDocument, match="does not verify"):
        signing.verify_jwt(token, other.key_set())
    with pytest.raises(signing.BadDocument, match="not among"):
        signing.verify_jwt(token, {"keys": []})
    head, body, sig = token.split(".")
    with pytest.raises(signing.BadDocument):
        signing.verify_jwt(".".join((head, body[:-4] + "AAAA", sig)), signer.key_set())
    with pytest.raises(signing.BadDocument, match="typ"):
        signing.verify_jwt(signer.sign_jwt({"a": 1}, typ="JWT"), signer.key_set())


def test_the_worked_example_in_the_docs_verifies_and_its_list_has_bit_7_set():
    text = (Path(__file__).parents[2] / "docs" / "certificate-credentials.md").read_text()
    token = re.search(r"```\n(eyJ[\w.-]+)\n```", text).group(1)
    keys = json.loads(re.search(r'```json\n(\{\n  "keys".*?)\n```', text, re.S).group(1))
    claims = signing.verify_jwt(token, keys)
    assert claims == json.loads(re.search(r'```json\n(\{\n  "@context".*?"iat": \d+\n\})\n```', text, re.S).group(1))
    listed = re.search(r'"encodedList": "(u[\w-]+)"', text).group(1)
    assert [credentials.status_bit(listed, i) for i in (6, 7, 8)] == [False, True, False]
    assert claims == credentials.certificate_claims(_certificate(
        number=domain.certificate_number("L4", 2026, "B001", 123), status_index=7), BASE)
