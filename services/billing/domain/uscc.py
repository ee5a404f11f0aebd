"""The unified social credit code (统一社会信用代码, GB 32100-2015), pure.

18 characters: registration authority (1), organisation type (1), administrative
division (6 digits), organisation code (9), check character (1). Characters come
from 0-9 and the capital letters without I, O, Z, S, V; the check character is
31 - (Σ value × weight mod 31), 31 counting as 0.
"""
from __future__ import annotations

import re

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(rf"^[{CHARSET[1:]}][1-9]\d{{6}}[{CHARSET}]{{10}}$")


def check_character(first17: str) -> str:
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """What is wrong with a code, in words a clerk understands; None if it is valid."""
    if len(code) != 18:
        return f"a unified social credit code has 18 characters, this one {len(code)}"
    if any(c not in CHARSET for c in code):
        bad = sorted({c for c in code if c not in CHARSET})
        return f"characters {''.join(bad)} do not occur in a unified social credit code (no I, O, Z, S, V)"
    if not _SHAPE.match(code):
        return "the first two characters are not a registration authority and organisation type, " \
               "or characters 3-8 are not a division code"
    if check_character(code[:17]) != code[17]:
        return "the check character does not match: a character is mistyped"
    return None


def normalise(code: str) -> str:
    """As typed: spaces dropped, capitals (codes are printed in capitals)."""
    return re.sub(r"\s+", "", code or "").upper()
