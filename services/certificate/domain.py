"""Certificate's rules, pure: the certificate number and who may see what.

Number format: ``CEA-<level>-<year>-<base code>-<sequence>-<check>``, e.g.
``CEA-L4-2026-B001-000123-7``: the program, the level, the issue year, the issuing
base, a six-digit sequence per level and year, and an ISO 7064 MOD 37-2 check
character (a digit, a letter or, one time in 37, ``*``) computed over every
character before it except the hyphens. It detects any single mistyped character
and any swap of two adjacent ones (the hybrid MOD 37,36, which avoids ``*``, misses
some swaps).
"""
from __future__ import annotations

import re
import unicodedata

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
PREFIX = "CEA"


def check_character(body: str) -> str:
    """ISO 7064 MOD 37-2 (pure system) over the characters of `body`."""
    p = 0
    for ch in _significant(body):
        p = ((p + ALPHABET.index(ch)) * 2) % 37
    return ALPHABET[(38 - p) % 37]


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
