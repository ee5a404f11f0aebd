"""Opening learning accounts in tests, including accounts activated in the past
(billing recognised the payment then) so that their validity has run out."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from shared.contracts import new_event
from shared.contracts.billing import Paid, Refunded
from tests.support import events


def paid_on(enrolled, activated_at: datetime):
    """`billing.paid` as billing would have emitted it at `activated_at`."""
    event = events.paid(enrolled, paid_at=activated_at)
    return new_event(Paid, {**event.data, "order_id": uuid.UUID(event.data["order_id"]),
                            "enrollment_id": uuid.UUID(event.data["enrollment_id"]),
                            "learner_id": uuid.UUID(event.data["learner_id"]), "paid_at": activated_at},
                     correlation_id=event.correlation_id, occurred_at=activated_at)


def refunded(enrollment_id, learner_id, reason="the learner withdrew"):
    eid, lid = uuid.UUID(str(enrollment_id)), uuid.UUID(str(learner_id))
    return new_event(Refunded, {
        "order_id": uuid.uuid4(), "enrollment_id": eid, "learner_id": lid, "amount_fen": 390000,
        "reason": reason, "administrator_override": False,
        "refunded_at": datetime.now(timezone.utc)}, correlation_id=eid)


def open_account(services, bus, sink, activated_at: datetime | None = None, **enrolled_fields):
    """Publish enrolled + paid; wait for the account; the learner's client."""
    enrolled = events.enrolled(**enrolled_fields)
    bus.publish(enrolled)
    bus.publish(paid_on(enrolled, activated_at) if activated_at else events.paid(enrolled))
    eid = enrolled.data["enrollment_id"]
    opened = sink.expect("learning.account-opened", where=lambda e: str(e.data["enrollment_id"]) == eid)
    learner = services.client("learning", "learner", subject=enrolled.data["learner_id"])
    return eid, opened, learner


# Where an enrollment's next session starts when a test does not say: sessions of one
# learner may not overlap, so they are laid end to end from a minute ago (the tests'
# clock allowance, like the development profile's, accepts the later ones at once).
_next_start: dict[str, datetime] = {}


def study(learner, enrollment_id, course, minutes, session=None, started=None):
    if started is None:
        started = _next_start.get(str(enrollment_id)) or datetime.now(timezone.utc) - timedelta(minutes=1)
        _next_start[str(enrollment_id)] = started + timedelta(minutes=minutes)
    return learner.post(f"/learning/accounts/{enrollment_id}/progress", {
        "session_id": session or uuid.uuid4().hex, "course_code": course,
        "started_at": started.isoformat(), "minutes": minutes})
