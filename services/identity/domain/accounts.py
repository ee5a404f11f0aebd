"""Who may log in, as what, and what they must do first. Pure rules over plain values."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from shared.errors import Conflict, InvalidInput, NotPermitted, RuleViolation

STAFF_ROLES = ("base_operator", "finance_clerk", "examiner", "admin", "operator")
# A staff login name starts with a letter, so it can never be taken for an ID number.
_STAFF_LOGIN = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")
_ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")
SETUP_PASSWORD, SETUP_TOTP = "password", "totp"


class LoginRefused(NotPermitted):
    """Wrong login or password, or a login that may not be used now. The detail
    never says which, so that logins cannot be discovered by trying."""
    slug = "login-refused"
    title = "The login name or password is not right, or the login may not be used"


class SecondFactorRequired(RuleViolation):
    slug = "second-factor-required"
    title = "Send the 6-digit code of your authenticator app (totp)"


class RoleChoiceRequired(RuleViolation):
    slug = "role-choice-required"
    title = "This login holds several roles: say which one (role)"


class GrantRefused(Conflict):
    slug = "grant-refused"
    title = "The role cannot be granted or removed like this"


@dataclass(frozen=True)
class Grant:
    role: str
    base_code: str | None


def normalized_login(raw: str) -> str:
    """Full-width characters typed with a Chinese input method as ASCII; an ID
    number's check letter in upper case; a staff name in lower case."""
    value = unicodedata.normalize("NFKC", raw or "").strip()
    return value.upper() if _ID_NUMBER.match(value.upper()) else value.lower()


def is_id_number(login: str) -> bool:
    return bool(_ID_NUMBER.match(login))


def check_staff_login_name(name: str) -> str:
    value = normalized_login(name)
    if not _STAFF_LOGIN.match(value):
        raise InvalidInput("the login name is not valid", errors={"login_name": [
            "3-40 characters: a letter first, then letters, digits, '.', '_' or '-'"]})
    return value


def check_grant(role: str, base_code: str | None) -> Grant:
    if role not in STAFF_ROLES:
        raise InvalidInput(f"unknown staff role {role!r}", errors={"role": [f"one of {', '.join(STAFF_ROLES)}"]})
    if role == "base_operator" and not base_code:
        raise InvalidInput("a base operator is bound to one base", errors={"base_code": ["required for base_operator"]})
    if role != "base_operator" and base_code:
        raise InvalidInput("only a base operator is bound to a base", errors={"base_code": ["only for base_operator"]})
    return Grant(role, base_code)


def choose_grant(grants: list[Grant], requested: str | None) -> Grant:
    """The role a staff login acts in: the one it holds, or the one it asks for."""
    if not grants:
        raise LoginRefused("this login holds no role")
    if requested is None:
        if len(grants) > 1:
            raise RoleChoiceRequired("this login holds several roles; send one of them as role",
                                     rules=[{"rule": "ROLE_CHOICE", "roles": sorted(g.role for g in grants)}])
        return grants[0]
    for g in grants:
        if g.role == requested:
            return g
    raise LoginRefused("this login does not hold that role")


def setup_steps(*, must_change_password: bool, role: str, totp_confirmed: bool) -> list[str]:
    """What a login must do before it gets a full token: change its initial (or
    reset) password, and for an administrator, set up the second factor."""
    steps = []
    if must_change_password:
        steps.append(SETUP_PASSWORD)
    if role == "admin" and not totp_confirmed:
        steps.append(SETUP_TOTP)
    return steps


def refusal_for_use(*, disabled_at: datetime | None, base_suspended: bool) -> str | None:
    """Why a known login may not be used now (for the audit; the caller says less)."""
    if disabled_at is not None:
        return "disabled"
    if base_suspended:
        return "base suspended"
    return None
