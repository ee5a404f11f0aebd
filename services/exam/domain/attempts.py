"""Who may register for which attempt (domain.md, "Retake"): a first failure
grants one free retake within 6 months of the first attempt; after that a further
attempt needs a paid retake order. An absence is an attempt scored 0."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.calendar import add_months
from shared.errors import Conflict, RuleViolation

FREE_RETAKE_MONTHS = 6


@dataclass(frozen=True)
class PastAttempt:
    number: int
    sat_on: date
    final: bool
    passed: bool


class AlreadyRegistered(Conflict):
    slug = "already-registered"
    title = "The learner already holds an open registration"


def is_repeat(open_registration, open_sitting, asked_sitting) -> bool:
    """A learner holds one open registration. Asking again for its sitting is a
    repeat (a lost response): answered with it. Asking for another sitting is
    refused, naming the open registration, which the learner cancels first."""
    if open_sitting == asked_sitting:
        return True
    raise AlreadyRegistered(f"registration {open_registration} is open; cancel it before registering "
                            "for another sitting", registration_id=str(open_registration))


class ResultPending(Conflict):
    slug = "result-pending"
    title = "The last attempt's result is not final yet"


class AlreadyPassed(Conflict):
    slug = "already-passed"
    title = "The learner has already passed"


class PaidRetakeRequired(RuleViolation):
    slug = "paid-retake-required"
    title = "A further attempt needs a paid retake"

    def __init__(self, detail, attempt_number: int, reason: str, **extra):
        super().__init__(detail, attempt_number=attempt_number, reason=reason, **extra)
        self.attempt_number, self.reason = attempt_number, reason


class NoPaidRetakeNeeded(Conflict):
    slug = "no-paid-retake-needed"
    title = "The next attempt needs no payment"


def free_retake_until(attempts: list[PastAttempt]) -> date:
    """The last sitting day the free retake may be used on (calendar months,
    clamped to the month's end: Aug 31 + 6 months = Feb 28/29)."""
    return add_months(min(attempts, key=lambda a: a.number).sat_on, FREE_RETAKE_MONTHS)


def next_attempt(attempts: list[PastAttempt], sitting_day: date, paid: frozenset[int] = frozenset()) -> int:
    """The number of the attempt a registration for `sitting_day` would be;
    `paid` are the attempt numbers a paid retake order was paid for."""
    if not attempts:
        return 1
    last = max(attempts, key=lambda a: a.number)
    if not last.final:
        raise ResultPending("wait for the result of the last attempt before registering again")
    if last.passed:
        raise AlreadyPassed("the learner passed attempt %d" % last.number)
    number = last.number + 1
    if number in paid:
        return number
    until = free_retake_until(attempts)
    if len(attempts) == 1 and sitting_day <= until:
        return number
    reason, why = (("free_retake_used", "the free retake was used") if len(attempts) > 1 else
                   ("free_retake_expired", f"the free retake was valid until {until.isoformat()}"))
    raise PaidRetakeRequired(f"{why}; attempt {number} needs a paid retake order",
                             attempt_number=number, reason=reason,
                             rules=[{"rule": "FREE_RETAKE", "message": why}])


def paid_retake_for(attempts: list[PastAttempt], today: date, paid: frozenset[int] = frozenset()) -> tuple[int, str]:
    """The attempt a paid retake is needed for as of `today`, and why
    (free_retake_used | free_retake_expired); refused when none is needed."""
    try:
        number = next_attempt(attempts, today, paid)
    except PaidRetakeRequired as needed:
        return needed.attempt_number, needed.reason
    raise NoPaidRetakeNeeded(f"attempt {number} needs no payment: register for a sitting")
