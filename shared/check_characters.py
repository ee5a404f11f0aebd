"""ISO 7064 pure-system check characters, MOD m-2: one rule, two alphabets.

The resident ID number ends in MOD 11-2 over its 17 digits (alphabet 0-9 and X);
the certificate number ends in MOD 37-2 over its digits and capitals (alphabet 0-9,
A-Z and *). Either detects any single mistyped character and any swap of two
adjacent ones. (The unified social credit code's check character, GB 32100, is
another rule: services/billing/domain/uscc.py.)
"""
from __future__ import annotations

ID_NUMBER = "0123456789X"                              # MOD 11-2
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"  # MOD 37-2


def iso7064_mod_2(body: str, alphabet: str) -> str:
    """The check character of `body` (every character in `alphabet`), modulus the
    alphabet's length, radix 2."""
    modulus = len(alphabet)
    p = 0
    for ch in body:
        p = ((p + alphabet.index(ch)) * 2) % modulus
    return alphabet[(modulus + 1 - p) % modulus]
