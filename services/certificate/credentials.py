"""Certificates as W3C Verifiable Credentials, and their status as a Bitstring Status List.

Pure: values in, the credential's claims or the encoded list out (signing.Signer
signs them as `vc+jwt`; docs/certificate-credentials.md shows a worked example).

- A certificate record (one serial) is a VC Data Model 2.0 credential whose
  `credentialSubject` holds what the signed JSON file holds (domain.signed_content),
  named as the credential spells it, and whose `credentialStatus` is a
  `BitstringStatusListEntry` pointing at its bit in the one published status list.
- The status list (W3C Bitstring Status List v1.0) has the purpose `revocation`: a
  record's bit is 1 when it no longer stands — revoked (fraud) or superseded by a
  corrected reissue. `encodedList` is the Multibase base64url (`u` prefix, no
  padding) of the GZIP-compressed bitstring; bit 0 is the most significant bit of
  the first byte; the list has at least 131,072 bits (16 KiB), so that one
  credential's lookup does not tell who is looked up.
"""
from __future__ import annotations

import base64
import gzip
from datetime import date, datetime

from . import domain

CONTEXT = "https://www.w3.org/ns/credentials/v2"
PURPOSE = "revocation"
MIN_BITS = 131_072
LIST_PATH = "/certificate/status-lists/revocation"
CREDENTIAL_TYPE = "VocationalCertificateCredential"
ISSUER_NAME = "碳排放管理员职业能力水平评价 (Carbon Emission Administrator vocational competence evaluation)"
STOPS_STANDING = ("revoked", "superseded")


def issuer_id(public_base_url: str) -> str:
    return public_base_url.rstrip("/") + "/certificate"


def status_list_url(public_base_url: str) -> str:
    return public_base_url.rstrip("/") + LIST_PATH


def certificate_claims(certificate, public_base_url: str) -> dict:
    """The credential (and JWT claims) of one certificate record."""
    content = domain.signed_content(certificate)
    subject_certificate = {
        "number": content["number"], "serial": content["serial"], "title": content["title"],
        "level": content["level"], "issuedOn": content["issued_on"], "baseCode": content["base_code"],
        "baseName": content["base_name"], "origin": content.get("origin", "issued")}
    if "imported_on" in content:
        subject_certificate.update({"importedOn": content["imported_on"],
                                    "importFileSha256": content["import_file_sha256"]})
    issuer, list_url = issuer_id(public_base_url), status_list_url(public_base_url)
    index = int(certificate.status_index)
    return {
        "@context": [CONTEXT],
        "id": f"urn:uuid:{content['certificate_id']}",
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": {"id": issuer, "name": ISSUER_NAME},
        "name": domain.TITLE,
        "validFrom": f"{content['issued_on']}T00:00:00+08:00",
        "credentialSubject": {"type": "CertificateHolder", "name": content["holder_name"],
                              "idNumberMasked": content["id_number_masked"],
                              "certificate": subject_certificate},
        "credentialStatus": {"id": f"{list_url}#{index}", "type": "BitstringStatusListEntry",
                             "statusPurpose": PURPOSE, "statusListIndex": str(index),
                             "statusListCredential": list_url},
        # JWT claims (RFC 7519) beside the credential, as VC-JOSE-COSE allows.
        "iss": issuer, "jti": f"urn:uuid:{content['certificate_id']}",
        "iat": int(certificate.issued_at.timestamp()),
    }


def stands(status: str) -> bool:
    """Whether a record's bit stays 0."""
    return status not in STOPS_STANDING


def encode_status_list(set_bits, length: int = MIN_BITS) -> str:
    """The `encodedList` of a list with these indices set (grown in 16 KiB steps)."""
    set_bits = list(set_bits)
    needed = max(set_bits, default=-1) + 1
    length = max(length, MIN_BITS * -(-needed // MIN_BITS))
    bits = bytearray(length // 8)
    for index in set_bits:
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def status_bit(encoded_list: str, index: int) -> bool:
    """What a verifier does with the list: the bit at `index` (True = no longer stands).
    ValueError when the list is not Multibase base64url of GZIP or is too short."""
    if not encoded_list.startswith("u"):
        raise ValueError("encodedList must be Multibase base64url (prefix 'u')")
    body = encoded_list[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if index < 0 or index >= len(bits) * 8:
        raise ValueError(f"index {index} is outside the list of {len(bits) * 8} bits")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_claims(public_base_url: str, encoded_list: str, now: datetime) -> dict:
    """The BitstringStatusListCredential: published fresh on every request."""
    list_url, issuer = status_list_url(public_base_url), issuer_id(public_base_url)
    return {
        "@context": [CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": issuer, "name": ISSUER_NAME},
        "validFrom": now.isoformat(),
        "credentialSubject": {"id": f"{list_url}#list", "type": "BitstringStatusList",
                              "statusPurpose": PURPOSE, "encodedList": encoded_list,
                              "ttl": 300_000},
        "iss": issuer, "iat": int(now.timestamp()),
    }


def issued_on(claims: dict) -> date:
    """The issue date a credential states (the original one for an imported certificate)."""
    return date.fromisoformat(claims["credentialSubject"]["certificate"]["issuedOn"])
