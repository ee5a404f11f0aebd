"""Certificates issued through certificate's real event handlers, as enrollment and
exam would cause them, with a chosen holder, ID number, base and issue instant."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from shared.contracts import new_event
from shared.contracts.enrollment import Enrolled
from shared.contracts.exam import Graded
from shared.identity import keyed_hash, mask
from tests.support import people
from tests.support.services import TEST_SETTINGS

ID_KEY = TEST_SETTINGS["ID_HASH_KEY"].encode()


def enrolled(full_name="王小明", id_number=None, level="L4", base_code="B001", base_name="江西碳排放培训基地"):
    id_number = id_number or people.id_number()
    enrollment_id = uuid.uuid4()
    return new_event(Enrolled, {
        "enrollment_id": enrollment_id, "learner_id": uuid.uuid4(), "level": level,
        "full_name": full_name, "id_number_hash": keyed_hash(id_number, ID_KEY),
        "id_number_masked": mask(id_number), "base_code": base_code, "base_name": base_name,
        "enrolled_on": date.today(), "enrolled_at": datetime.now(timezone.utc)},
        correlation_id=enrollment_id)


def passed(of, graded_at: datetime | None = None):
    return new_event(Graded, {
        "attempt_id": uuid.uuid4(), "enrollment_id": uuid.UUID(of.data["enrollment_id"]),
        "learner_id": uuid.UUID(of.data["learner_id"]), "level": of.data["level"],
        "sitting_id": uuid.uuid4(), "attempt_number": 1, "score": Decimal("75.0"), "passed": True,
        "graded_at": graded_at or datetime.now(timezone.utc)},
        correlation_id=uuid.UUID(of.data["enrollment_id"]))


def issue(bus, sink, graded_at: datetime | None = None, **holder):
    """Publish enrolled + a pass; wait for certificate.issued. Returns (enrolled, issued)."""
    event = enrolled(**holder)
    bus.publish(event)
    bus.publish(passed(event, graded_at))
    issued = sink.expect("certificate.issued",
                         where=lambda e: str(e.data["enrollment_id"]) == event.data["enrollment_id"])
    return event, issued
