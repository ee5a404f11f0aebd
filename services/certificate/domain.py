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
from dataclasses import dataclass
from datetime import date

from shared import identity
from shared.calendar import program_date
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
    id and its serial. Not its status, which changes after issue and is checked online.
    An imported certificate's content also says so (`origin`), when it was imported
    and the hash of the file it came in: the signature is the system's record of
    that import, not of an issue."""
    content = {"certificate_id": str(certificate.certificate_id), "number": certificate.number,
            "serial": int(certificate.serial), "title": TITLE, "level": certificate.level,
            "holder_name": certificate.holder_name, "id_number_masked": certificate.id_number_masked,
            "issued_on": certificate.issued_on.isoformat(), "base_code": certificate.base_code,
            "base_name": certificate.base_name}
    if getattr(certificate, "origin", "issued") == "imported":
        content.update({"origin": "imported", "imported_on": program_date(certificate.imported_at).isoformat(),
                        "import_file_sha256": certificate.import_file_sha256})
    return content


def canonical_bytes(content: dict) -> bytes:
    """The exact bytes signed: UTF-8 JSON, keys sorted, no spaces, non-ASCII kept
    as is. The content holds only strings and integers, so this is unambiguous."""
    if set(content) not in (set(SIGNED_FIELDS), set(SIGNED_FIELDS + IMPORT_FIELDS)):
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


# -- certificates that exist before this system (imports) ---------------------------

IMPORT_FIELDS = ("origin", "imported_on", "import_file_sha256")
LEVEL_WORDS = {"L4": "L4", "L3": "L3", "四级": "L4", "三级": "L3"}
DATE_SHAPE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


@dataclass(frozen=True)
class ImportRow:
    """A checked row of an import file (the ID number still in clear: the action
    hashes and masks it and keeps neither the clear form nor the row)."""
    number: str
    holder_name: str
    id_number: str
    level: str
    issued_on: date
    base_code: str
    base_name: str

    def same_certificate(self, holder_name: str, id_number_hash: str, own_hash: str,
                         level: str, issued_on: date) -> bool:
        """The registry's record of this number says what this row says."""
        return (_name(holder_name) == _name(self.holder_name) and id_number_hash == own_hash
                and level == self.level and issued_on == self.issued_on)


def check_import_row(values: dict, today: date) -> tuple[ImportRow | None, list[str]]:
    """A row of an import file, or every reason it cannot be imported.

    An imported certificate is one the program issued before this system: its number
    is kept as printed (any shape; check characters began with this system), its
    issue date is in the past, its level L4 or L3 and the holder's ID number valid."""
    reasons = []
    number = normalize_number(values.get("number", ""))
    if not number:
        reasons.append("number: missing")
    elif len(number) > 60:
        reasons.append("number: longer than 60 characters")
    elif check_number(number):  # it would take a number this system hands out
        reasons.append("number: has the form of the numbers this system issues (CEA-…, with a check "
                       "character); only certificates issued before it are imported")
    name = _name(values.get("holder_name", ""))
    if not name:
        reasons.append("holder_name: missing")
    elif len(name) > 100:
        reasons.append("holder_name: longer than 100 characters")
    id_number = None
    try:
        id_number = identity.parse_id_number(values.get("id_number", ""), today).value
    except identity.InvalidIdNumber as exc:
        reasons.append(f"id_number: {exc.extra['errors']['id_number'][0]}")
    raw_level = _name(values.get("level", ""))
    level = LEVEL_WORDS.get(raw_level.upper(), LEVEL_WORDS.get(raw_level))
    if level is None:
        reasons.append("level: must be L4 (四级) or L3 (三级)")
    issued_on = parse_issue_date(values.get("issued_on", ""))
    if issued_on is None:
        reasons.append("issued_on: not a date (YYYY-MM-DD)")
    elif issued_on > today:
        reasons.append("issued_on: in the future")
    base_name = _name(values.get("base_name", ""))
    base_code = _name(values.get("base_code", "")).upper()
    if not base_name:
        reasons.append("base_name: missing")
    elif len(base_name) > 200:
        reasons.append("base_name: longer than 200 characters")
    if len(base_code) > 32:
        reasons.append("base_code: longer than 32 characters")
    if reasons:
        return None, reasons
    return ImportRow(number, name, id_number, level, issued_on, base_code, base_name), []


def parse_issue_date(text: str) -> date | None:
    """2025-10-01, 2025/10/1, 2025.10.01 or 2025年10月1日 (as spreadsheets write it)."""
    match = DATE_SHAPE.match(_name(text))
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


IMPORTED, ALREADY_IMPORTED, REFUSED = "imported", "already_imported", "refused"


def import_outcome(row: ImportRow, row_hash: str, existing) -> tuple[str, list[str]]:
    """What becomes of a checked row given the registry's current record of its
    number (None when the number is new): imported, already imported (the same row
    again: nothing changes) or refused with the reason."""
    if existing is None:
        return IMPORTED, []
    if existing.origin != "imported":
        return REFUSED, [f"number: {row.number} is a certificate this system issued"]
    if row.same_certificate(existing.holder_name, existing.id_number_hash, row_hash,
                            existing.level, existing.issued_on):
        return ALREADY_IMPORTED, []
    return REFUSED, [f"number: {row.number} was imported before with other details "
                     "(name, ID number, level or issue date); correct it in the registry"]


def import_counts(results: list[dict]) -> dict:
    """How many rows of an import came to each outcome."""
    return {outcome: sum(r["outcome"] == outcome for r in results)
            for outcome in (IMPORTED, ALREADY_IMPORTED, REFUSED)}
