"""The password policy (docs/identity.md, "Passwords"): pure rules, no hashing here.

A new password is refused, with every rule it fails named, when it is shorter than
10 or longer than 128 characters, is the password it replaces (the initial one
included), contains the login name, or is in the list of common passwords that
ships with the project."""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.errors import RuleViolation

MIN_LENGTH = 10
MAX_LENGTH = 128
COMMON_FILE = Path(__file__).resolve().parents[1] / "data" / "common-passwords.txt"
# Initial passwords are typed from a text message: no 0/O, 1/l/I look-alikes.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lIo")
INITIAL_LENGTH = 12
CODE_DIGITS = 6


class WeakPassword(RuleViolation):
    slug = "weak-password"
    title = "The new password does not meet the password policy"


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "message": self.message}


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def refusals(new: str, *, same_as_current: bool, contains_login: bool,
             common: frozenset[str] | None = None) -> list[Refusal]:
    """Every rule `new` fails (empty when it is acceptable). The caller says whether
    it is the current password and whether it contains the login name, which take
    the stored hashes to know."""
    common = common_passwords() if common is None else common
    found = []
    if len(new) < MIN_LENGTH:
        found.append(Refusal("MIN_LENGTH", f"at least {MIN_LENGTH} characters"))
    if len(new) > MAX_LENGTH:
        found.append(Refusal("MAX_LENGTH", f"at most {MAX_LENGTH} characters"))
    if same_as_current:
        found.append(Refusal("NOT_CURRENT", "not the password it replaces (nor the initial one)"))
    if contains_login:
        found.append(Refusal("NOT_LOGIN_NAME", "must not contain the login name"))
    if new.lower() in common:
        found.append(Refusal("NOT_COMMON", "too common: it is on the list of passwords tried first"))
    return found


def check(new: str, *, same_as_current: bool, contains_login: bool) -> None:
    failed = refusals(new, same_as_current=same_as_current, contains_login=contains_login)
    if failed:
        raise WeakPassword("the new password is refused: " + "; ".join(f.message for f in failed),
                           rules=[f.as_dict() for f in failed])


def contains_name(password: str, login_name: str) -> bool:
    """A staff login name inside the password, whatever the case."""
    return len(login_name) >= 3 and login_name.lower() in password.lower()


def windows(password: str, width: int) -> list[str]:
    """Every `width`-long piece of the password, upper-cased: the ID number a learner
    logs in with is kept only as a keyed hash, so each piece is hashed and compared."""
    upper = password.upper()
    return [upper[i:i + width] for i in range(len(upper) - width + 1)]


def initial_password() -> str:
    """12 characters from an unambiguous alphabet, with a digit, a lower and an upper
    case letter (about 70 bits)."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(INITIAL_LENGTH))
        if (any(c.isdigit() for c in candidate) and any(c.islower() for c in candidate)
                and any(c.isupper() for c in candidate)):
            return candidate


def one_time_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
