"""Opening learning accounts in tests, including accounts activated in the past
(billing recognised the payment then) so that their validity has run out."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from tests.support import events


def open_account(services, bus, sink, activated_at: datetime | None = None, enrolled=None,
                 **enrolled_fields):
    """Publish enrolled + paid (`enrolled`, or one made of `enrolled_fields`); wait for
    the account; its enrollment id, the account-opened event, the learner's client."""
    enrolled = enrolled or events.enrolled(**enrolled_fields)
    bus.publish(enrolled)
    bus.publish(events.paid_on(enrolled, activated_at) if activated_at else events.paid(enrolled))
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
