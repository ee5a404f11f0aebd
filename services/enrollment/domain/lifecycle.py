"""An enrollment's states and the moves between them.

submitted -> awaiting_payment -> active -> coursework_complete -> exam_passed -> certified,
with cancelled, refunded and expired as exits. Events can arrive out of order
(paid before order-opened): a state only moves forward, so a late event never
drags an enrollment back.
"""
from __future__ import annotations

from enum import Enum

from shared.errors import Conflict


class Status(str, Enum):
    SUBMITTED = "submitted"
    AWAITING_PAYMENT = "awaiting_payment"
    ACTIVE = "active"
    COURSEWORK_COMPLETE = "coursework_complete"
    EXAM_PASSED = "exam_passed"
    CERTIFIED = "certified"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    EXPIRED = "expired"


PROGRESS = [Status.SUBMITTED, Status.AWAITING_PAYMENT, Status.ACTIVE,
            Status.COURSEWORK_COMPLETE, Status.EXAM_PASSED, Status.CERTIFIED]
EXITS = {Status.CANCELLED, Status.REFUNDED, Status.EXPIRED}
CLOSED = EXITS | {Status.CERTIFIED}


def advance(current: Status, target: Status) -> Status | None:
    """The status after an event that means `target`, or None if nothing changes."""
    if current in EXITS or current == target:
        return None
    if target in EXITS:
        return target if current != Status.CERTIFIED else None
    if PROGRESS.index(target) > PROGRESS.index(current):
        return target
    return None


def is_open(status: Status) -> bool:
    return status not in CLOSED


# -- authorized actions and the decisions events call for -------------------------

BEFORE_PAYMENT = {Status.SUBMITTED, Status.AWAITING_PAYMENT}


class NotCancellable(Conflict):
    slug = "not-cancellable"
    title = "Only an enrollment not yet paid can be cancelled"


def cancel(current: Status) -> Status:
    """A base (or an administrator) withdraws an application before payment; after
    payment the way out is a refund, the finance clerk's decision."""
    if current not in BEFORE_PAYMENT:
        raise NotCancellable(f"the enrollment is {current.value}: only a submitted or unpaid "
                             "enrollment can be cancelled; after payment ask the finance office "
                             "for a refund")
    return Status.CANCELLED


def expires_with_account(current: Status, coursework_complete: bool) -> bool:
    """The learning account's end closes the enrollment only if the coursework was
    not complete: a learner who completed it keeps the right to sit the exam."""
    if coursework_complete or current in (Status.COURSEWORK_COMPLETE, Status.EXAM_PASSED):
        return False
    return advance(current, Status.EXPIRED) is not None
