"""Who may register for which attempt (domain.md, "Retake"): a first failure
grants one free retake within 6 months of the first attempt; after that a further
attempt needs a paid retake order."""
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


class ResultPending(Conflict):
    slug = "result-pending"
    title = "The last attempt's result is not final yet"


class AlreadyPassed(Conflict):
    slug = "already-passed"
    title = "The learner has already passed"


class PaidRetakeRequired(RuleViolation):
    slug = "paid-retake-required"
    title = "A further attempt needs a paid retake"


def next_attempt(attempts: list[PastAttempt], sitting_day: date) -> int:
    """The number of the attempt a registration for `sitting_day` would be."""
    if not attempts:
        return 1
    last = max(attempts, key=lambda a: a.number)
    if not last.final:
        raise ResultPending("wait for the result of the last attempt before registering again")
    if last.passed:
        raise AlreadyPassed("the learner passed attempt %d" % last.number)
    first = min(attempts, key=lambda a: a.number)
    free_until = add_months(first.sat_on, FREE_RETAKE_MONTHS)
    if len(attempts) == 1 and sitting_day <= free_until:
        return 2
    reason = ("the free retake was used" if len(attempts) > 1
              else f"the free retake was valid until {free_until.isoformat()}")
    raise PaidRetakeRequired(f"{reason}; a further attempt needs a paid retake order",
                             rules=[{"rule": "FREE_RETAKE", "message": reason}])
