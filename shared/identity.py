"""The resident ID number (GB 11643): validation, masking and the keyed hash that
identifies a learner without keeping the number itself. Shared because enrollment
validates it on application and certificate on a correction; the keyed hash
(CEA_ID_HASH_KEY) must be computed the same way wherever it is searched."""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from shared.check_characters import ID_NUMBER, iso7064_mod_2
from shared.errors import InvalidInput

# ASCII only: `\d` would also take other scripts' digits, which int() accepts and the
# keyed hash (ASCII) would then fail on.
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
# Province-level codes of the mainland, plus Taiwan, Hong Kong and Macao
# (81/82/83 also prefix residence-permit numbers).
PROVINCES = frozenset({
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
})


class InvalidIdNumber(InvalidInput):
    """The reason never quotes the number: refusals are answered and logged."""
    slug = "invalid-id-number"
    title = "The resident ID number is not valid"

    def __init__(self, reason: str):
        super().__init__(f"the resident ID number is not valid: {reason}",
                         errors={"id_number": [reason]})


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date

    @property
    def masked(self) -> str:
        return mask(self.value)


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return iso7064_mod_2(first17, ID_NUMBER)


def _normalized(raw: str | None) -> str:
    """Full-width digits and letters (typed with a Chinese input method) as ASCII."""
    return unicodedata.normalize("NFKC", raw or "").strip()


def parse_id_number(raw: str, today: date) -> IdNumber:
    value = _normalized(raw).upper()
    if not _SHAPE.match(value):
        raise InvalidIdNumber("it must be 17 digits followed by a digit or X")
    if int(value[:2]) not in PROVINCES or value[2:6] == "0000":
        raise InvalidIdNumber("digits 1-6 are not a plausible region code")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("digits 7-14 are not a real date of birth") from None
    if birth > today:
        raise InvalidIdNumber("the date of birth is in the future")
    if birth.year < 1900:
        raise InvalidIdNumber("the date of birth is before 1900")
    if check_character(value[:17]) != value[17]:
        raise InvalidIdNumber("the check character does not match (a digit was mistyped?)")
    return IdNumber(value, birth)


def mask(value: str) -> str:
    """3604**********0071: region kept for the reader, birth date and sequence hidden."""
    return value[:4] + "*" * 10 + value[-4:]


def keyed_hash(value: str, key: bytes) -> str:
    """HMAC-SHA256: finds the same learner again without storing the number.

    There are only about 10^11 valid ID numbers (region, birth date, sequence; the
    masked form gives away the region and the last four), so anyone holding the key
    can hash them all: the key is the number's only protection (docs/security.md).
    Nothing that travels widely is computed from the hash: learner ids are random."""
    return hmac.new(key, value.encode("ascii"), hashlib.sha256).hexdigest()


def validate_mobile(raw: str) -> str:
    value = _normalized(raw).replace(" ", "").replace("-", "")
    if value.startswith("+86"):
        value = value[3:]
    if not _MOBILE.match(value):
        raise InvalidInput("the mobile number is not a mainland mobile number",
                           errors={"mobile": ["expected 11 digits starting 13-19"]})
    return value


def mask_mobile(value: str) -> str:
    return value[:3] + "****" + value[-4:]
