"""Steps exam's integration tests share: a candidate whose coursework is complete,
a sitting, a registration, a replica of the service, the service's own database."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from nameko.containers import ServiceContainer

from shared.contracts import new_event
from shared.contracts.billing import RetakePaid
from shared.persistence.database import Database
from shared.tokens import mint
from shared.web.server import ApiServer
from tests.support import events
from tests.support.services import Client, load_class, SERVICE_CLASSES
from tests.support.wait import wait_for


def candidate(services, bus, level="L4"):
    """(enrollment id, learner client, learner id) once exam knows the coursework is complete."""
    enrolled = events.enrolled(level=level)
    bus.publish(events.course_completed(enrolled, level=level))
    learner_id = enrolled.data["learner_id"]
    learner = services.client("exam", "learner", subject=learner_id)
    eid = enrolled.data["enrollment_id"]
    wait_for(lambda: register(learner, eid, str(uuid.uuid4())).status_code == 404)  # projection in
    return eid, learner, learner_id


def sitting(services, starts=None, capacity=10, level="both", closes=None):
    """A sitting made by an administrator; by default a make-up sitting under way
    that still admits registration."""
    admin = services.client("exam", "admin")
    starts = starts or datetime.now(timezone.utc) - timedelta(minutes=1)
    closes = closes or starts + timedelta(minutes=60)
    answer = admin.post("/exam/sittings", {"starts_at": starts.isoformat(), "level": level,
                                           "capacity": capacity, "registration_closes_at": closes.isoformat()})
    assert answer.status_code == 201, answer.text
    return answer.json()


def register(learner, enrollment_id, sitting_id):
    return learner.post("/exam/registrations", {"enrollment_id": enrollment_id, "sitting_id": sitting_id})


def registered(learner, enrollment_id, sitting_id) -> dict:
    answer = register(learner, enrollment_id, sitting_id)
    assert answer.status_code == 201, answer.text
    return answer.json()


def database(container) -> Database:
    return next(e for e in container.extensions if isinstance(e, Database))


def after(sitting_: dict, seconds=1) -> datetime:
    return datetime.fromisoformat(sitting_["ends_at"]) + timedelta(seconds=seconds)


def close_all(container, now, limit=500) -> int:
    from services.exam import papers
    closed = 0
    while True:
        with database(container).transaction() as tx:
            n = papers.close_due(tx, now, limit=limit)
        closed += n
        if n < limit:
            return closed


@contextmanager
def replica(services):
    """A second exam container on the same database and vhost (as a second pod)."""
    container = ServiceContainer(load_class(SERVICE_CLASSES["exam"]), services.config("exam"))
    container.start()
    try:
        server = next(e for e in container.extensions if isinstance(e, ApiServer))
        url = f"http://127.0.0.1:{server.port}"
        wait_for(lambda: Client(url, None).get("/health/ready").status_code == 200, timeout=30)
        yield container, lambda role, **claims: Client(url, mint(services.keys.private, role, **claims))
    finally:
        container.stop()


def retake_paid(enrollment_id, learner_id, attempt_number):
    return new_event(RetakePaid, {
        "order_id": uuid.uuid4(), "enrollment_id": uuid.UUID(enrollment_id),
        "learner_id": uuid.UUID(learner_id), "attempt_number": attempt_number, "amount_fen": 80000,
        "paid_at": datetime.now(timezone.utc)}, correlation_id=uuid.UUID(enrollment_id))
