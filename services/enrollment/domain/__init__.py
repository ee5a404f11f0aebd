"""Enrollment's rules, pure: no I/O, no nameko, no database."""
from datetime import date

from shared.errors import Conflict, NotPermitted


class BaseNotAuthorized(NotPermitted):
    slug = "base-not-authorized"
    title = "The training base may not enroll learners"


class BaseAlreadySuspended(Conflict):
    slug = "base-already-suspended"
    title = "The training base is already suspended"


class BaseNotSuspended(Conflict):
    slug = "base-not-suspended"
    title = "The training base is not suspended"


def authorization_state(base, today: date) -> str:
    """valid, suspended, not_yet_valid or expired (suspension shown first)."""
    if base.suspended:
        return "suspended"
    if today < base.authorized_from:
        return "not_yet_valid"
    if today > base.authorized_until:
        return "expired"
    return "valid"


def check_base_may_enroll(base, today: date) -> None:
    """Only a base with a current authorization enrolls (domain.md, "Who uses it")."""
    if base is None:
        raise BaseNotAuthorized("your training base is not registered with the program")
    state = authorization_state(base, today)
    if state == "suspended":
        raise BaseNotAuthorized(f"the authorization of base {base.code} is suspended")
    if state == "not_yet_valid":
        raise BaseNotAuthorized(f"the authorization of base {base.code} starts on "
                                f"{base.authorized_from.isoformat()}")
    if state == "expired":
        raise BaseNotAuthorized(f"the authorization of base {base.code} expired on "
                                f"{base.authorized_until.isoformat()}")


def check_may_suspend(base) -> None:
    if base.suspended:
        raise BaseAlreadySuspended(f"base {base.code} is already suspended")


def check_may_reinstate(base) -> None:
    if not base.suspended:
        raise BaseNotSuspended(f"base {base.code} is not suspended")


# What an application or a base registration records, compared to tell a repeat
# (a lost response: answered with what the first made) from a different request.
APPLICATION_FIELDS = ("full_name", "mobile", "education_tier", "education_status", "related_work_months",
                      "work_months_since_l4", "sector", "invoice_title")
BASE_FIELDS = ("name", "contact", "authorized_from", "authorized_until")


def same_request(recorded: dict, asked: dict, fields: tuple[str, ...]) -> bool:
    return all(recorded.get(f) == asked.get(f) for f in fields)
