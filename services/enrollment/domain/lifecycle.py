"""An enrollment's states and the moves between them.

submitted -> awaiting_payment -> active -> coursework_complete -> exam_passed -> certified,
with cancelled, refunded and expired as exits. Events can arrive out of order
(paid before order-opened): a state only moves forward, so a late event never
drags an enrollment back.
"""
from __future__ import annotations

from enum import Enum


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
