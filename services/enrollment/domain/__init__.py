"""Enrollment's rules, pure: no I/O, no nameko, no database."""
from datetime import date

from shared.errors import NotPermitted


class BaseNotAuthorized(NotPermitted):
    slug = "base-not-authorized"
    title = "The training base may not enroll learners"


def check_base_may_enroll(base, today: date) -> None:
    """Only a base with a current authorization enrolls (domain.md, "Who uses it")."""
    if base is None:
        raise BaseNotAuthorized("your training base is not registered with the program")
    if base.suspended:
        raise BaseNotAuthorized(f"the authorization of base {base.code} is suspended")
    if today < base.authorized_from:
        raise BaseNotAuthorized(f"the authorization of base {base.code} starts on "
                                f"{base.authorized_from.isoformat()}")
    if today > base.authorized_until:
        raise BaseNotAuthorized(f"the authorization of base {base.code} expired on "
                                f"{base.authorized_until.isoformat()}")
