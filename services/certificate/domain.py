"""Certificate's rules, pure: the certificate number, the signed content, corrections.

Number format: ``CEA-<level>-<year>-<base code>-<sequence>-<check>``, e.g.
``CEA-L4-2026-B001-000123-7``: the program, the level, the issue year, the issuing
base, a six-digit sequence per level and year, and an ISO 7064 MOD 37-2 check
character (a digit, a letter or, one time in 37, ``*``) computed over every
character before it except the hyphens. It detects any single mistyped character
and any swap of two adjacent ones (the hybrid MOD 37,36, which avoids ``*``, misses
some swaps).
"""
from __future__ import annotations

import json
import re
import unicodedata

from shared.check_characters import ALPHANUMERIC, iso7064_mod_2
from shared.errors import Conflict, RuleViolation

PREFIX = "CEA"


def check_character(body: str) -> str:
    """ISO 7064 MOD 37-2 over the characters of `body` that count."""
    return iso7064_mod_2(_significant(body), ALPHANUMERIC)


def _significant(text: str) -> str:
    """Every character that counts: the hyphens are only for reading."""
    return re.sub(r"[^0-9A-Z*]", "", text.upper())


def certificate_number(level: str, year: int, base_code: str, sequence: int) -> str:
    body = f"{PREFIX}-{level}-{year}-{base_code}-{sequence:06d}"
    return f"{body}-{check_character(body)}"


def normalize_number(typed: str) -> str:
    """What a person typed, as the registry spells it: upper case, full-width folded."""
    return unicodedata.normalize("NFKC", typed or "").strip().upper()


def check_number(typed: str) -> bool:
    """True when the number is well formed and its check character matches."""
    number = normalize_number(typed)
    body, sep, check = number.rpartition("-")
    return bool(sep) and number.startswith(PREFIX + "-") and len(check) == 1 \
        and check_character(body) == check


def same_name(given: str, holder: str) -> bool:
    """Names match exactly, ignoring surrounding spaces (half or full width)."""
    return _name(given) == _name(holder)


def _name(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


# -- the signed content -----------------------------------------------------------

SIGNED_FIELDS = ("certificate_id", "number", "serial", "title", "level", "holder_name",
                 "id_number_masked", "issued_on", "base_code", "base_name")
TITLE = "碳排放管理员职业能力水平评价证书"


def signed_content(certificate) -> dict:
    """What a certificate's signature covers: every field printed on it, its record
    id and its serial. Not its status, which changes after issue and is checked online."""
    return {"certificate_id": str(certificate.certificate_id), "number": certificate.number,
            "serial": int(certificate.serial), "title": TITLE, "level": certificate.level,
            "holder_name": certificate.holder_name, "id_number_masked": certificate.id_number_masked,
            "issued_on": certificate.issued_on.isoformat(), "base_code": certificate.base_code,
            "base_name": certificate.base_name}


def canonical_bytes(content: dict) -> bytes:
    """The exact bytes signed: UTF-8 JSON, keys sorted, no spaces, non-ASCII kept
    as is. The content holds only strings and integers, so this is unambiguous."""
    if set(content) != set(SIGNED_FIELDS):
        raise ValueError(f"signed content has fields {sorted(content)}, expected {sorted(SIGNED_FIELDS)}")
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# -- corrections and revocation -----------------------------------------------------

class CertificateRevoked(Conflict):
    slug = "certificate-revoked"
    title = "The certificate is revoked"


class ChangedMeanwhile(Conflict):
    slug = "certificate-changed-meanwhile"
    title = "The certificate changed meanwhile"


def _check_current(status: str) -> None:
    if status == "revoked":
        raise CertificateRevoked("the certificate is revoked")
    if status == "superseded":  # another correction won the race: look again
        raise ChangedMeanwhile("the certificate was reissued meanwhile; reload it and try again")


class NothingToCorrect(RuleViolation):
    slug = "nothing-to-correct"
    title = "The correction changes nothing"


def check_correction(current_status: str, holder_name: str, id_hash: str,
                     new_name: str | None, new_id_hash: str | None) -> None:
    """A correction reissues a valid certificate with different personal data."""
    _check_current(current_status)
    changes_name = new_name is not None and _name(new_name) != _name(holder_name)
    changes_id = new_id_hash is not None and new_id_hash != id_hash
    if not (changes_name or changes_id):
        raise NothingToCorrect("the corrected name and ID number equal the certificate's",
                               rules=[{"code": "nothing-to-correct", "message":
                                       "give a holder name or ID number that differs from the certificate's"}])


def repeats_correction(serial: int, correction_reason: str | None, holder_name: str, id_hash: str,
                       new_name: str | None, new_id_hash: str | None, reason: str) -> bool:
    """The correction that made the current serial, asked again (a lost response):
    answered with that reissue rather than refused as changing nothing."""
    return (serial > 1 and correction_reason == reason
            and (new_name is None or _name(new_name) == _name(holder_name))
            and (new_id_hash is None or new_id_hash == id_hash))


def check_revocation(current_status: str) -> None:
    _check_current(current_status)
