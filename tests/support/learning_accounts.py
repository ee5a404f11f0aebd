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


def study(learner, enrollment_id, course, minutes, session=None, started=None):
    return learner.post(f"/learning/accounts/{enrollment_id}/progress", {
        "session_id": session or uuid.uuid4().hex, "course_code": course,
        "started_at": (started or datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(),
        "minutes": minutes})
