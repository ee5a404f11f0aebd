"""architecture.md, "Faults and edges": a service outlives its database's outage.

PostgreSQL is reached through a forwarder the test closes for a few seconds (new
connections refused, open ones cut). Every background loop of the service must
wait, report not-ready, and go on by itself when the database is back; the process
never serves 500s, and it still stops on SIGTERM within 10 s.
"""
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.support import events, infra
from tests.support.forwarder import ClosableDatabase
from tests.support.learning_accounts import study
from tests.support.processes import ServiceProcess
from tests.support.services import Client, RunningServices
from tests.support.wait import wait_for
from shared.tokens import mint

OUTAGE_SECONDS = 3  # how long the database stays away (the fault's length, not a wait)


@pytest.fixture
def services(amqp_uri, keys, tmp_path):
    """Configuration only: these tests bring their own (forwarded) database."""
    running = RunningServices(amqp_uri, lambda label: f"sqlite:///{tmp_path}/{label}.sqlite3", keys)
    yield running
    running.stop_all()


@pytest.fixture
def closable_postgres():
    if not infra.postgres_available():
        if os.environ.get("CEA_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (CEA_REQUIRE_POSTGRES) but not reachable")
        pytest.skip("PostgreSQL not reachable")
    made = []

    def make(label):
        url = infra.create_database(label)
        forwarded = ClosableDatabase(url)
        made.append((url, forwarded))
        return forwarded

    yield make
    for url, forwarded in made:
        forwarded.stop()
        infra.drop_database(url)


def _health(url, path):
    answer = requests.get(url + path, timeout=10)
    return answer.status_code, answer.json()


def _service(tmp_path, services, name, target, database, **overrides):
    config = services.config(name, DATABASE_URL=database.url, **overrides)
    return ServiceProcess(target, config, tmp_path, name).start()


def test_learning_outlives_a_database_outage(tmp_path, services, bus, keys, closable_postgres):
    database = closable_postgres("learning")
    learning = _service(tmp_path, services, "learning", "services.learning.service:LearningService",
                        database, EXPIRY_INTERVAL_SECONDS=1, AMQP_HEARTBEAT=5)
    sink = bus.sink("learning.account-opened", "learning.account-expired")
    current = events.enrolled("王芳")
    bus.publish(current)
    bus.publish(events.paid(current))
    sink.expect("learning.account-opened")
    learner = Client(learning.url, mint(keys.private, "learner", subject=current.data["learner_id"]))
    eid = current.data["enrollment_id"]
    assert study(learner, eid, "F01", 5).status_code == 200

    database.close()
    wait_for(lambda: _health(learning.url, "/health/ready")[0] == 503, message="still ready without its database")
    # While it is away: events arrive (held, not lost), a report is refused plainly.
    lapsed = events.enrolled("李娜")
    bus.publish(lapsed)
    bus.publish(events.paid_on(lapsed, datetime.now(timezone.utc) - timedelta(days=220)))
    refused = study(learner, eid, "F01", 5)
    assert refused.status_code == 503, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.headers["Retry-After"]
    assert _health(learning.url, "/health/live")[0] == 200
    time.sleep(OUTAGE_SECONDS)
    database.open()

    status, ready = wait_for(lambda: (h := _health(learning.url, "/health/ready"))[0] == 200 and h,
                             timeout=30, message="never ready again after the outage")
    assert ready["waiting"] == {}
    # Every loop went on by itself: the consumer took the held events, the relay
    # published what they caused, the expiry timer expired the lapsed account, the
    # group commit takes reports again.
    lapsed_id = lapsed.data["enrollment_id"]
    sink.expect("learning.account-opened", timeout=30, where=lambda e: str(e.data["enrollment_id"]) == lapsed_id)
    sink.expect("learning.account-expired", timeout=30, where=lambda e: str(e.data["enrollment_id"]) == lapsed_id)
    assert study(learner, eid, "F01", 5).status_code == 200
    assert learner.get(f"/learning/accounts/{eid}").json()["courses"][0]["minutes_studied"] >= 10
    live = _health(learning.url, "/health/live")
    assert live[0] == 200 and set(live[1]["loops"]) >= {
        "event-consumer", "outbox-relay", "timer-expire_accounts", "group-commit-progress"}
    assert learning.process.poll() is None
    assert "thread exited with error" not in learning.log()

    # Stopping while the database is away again: still within 10 s, cleanly.
    database.close()
    wait_for(lambda: _health(learning.url, "/health/ready")[0] == 503)
    started = time.monotonic()
    assert learning.stop() == 0
    assert time.monotonic() - started < 10


def test_exam_outlives_a_database_outage(tmp_path, services, bus, keys, closable_postgres):
    database = closable_postgres("exam")
    exam = _service(tmp_path, services, "exam", "services.exam.service:ExamService", database,
                    CLOSE_INTERVAL_SECONDS=1, PREPARE_INTERVAL_SECONDS=2, AMQP_HEARTBEAT=5)
    before = _health(exam.url, "/health/live")[1]["loops"]
    assert set(before) >= {"event-consumer", "outbox-relay", "timer-close_due_papers", "timer-prepare",
                           "group-commit-autosave"}

    database.close()
    wait_for(lambda: _health(exam.url, "/health/ready")[0] == 503)
    completed = events.course_completed(events.enrolled("赵敏"))
    bus.publish(completed)
    learner = Client(exam.url, mint(keys.private, "learner", subject=completed.data["learner_id"]))
    sittings = learner.get("/exam/sittings")
    assert sittings.status_code == 503, sittings.text
    # The timers meet the outage and wait for the database (readiness says so).
    wait_for(lambda: {"timer-close_due_papers", "timer-prepare"} <= set(
        _health(exam.url, "/health/ready")[1]["waiting"]), message="the timers never met the outage")
    time.sleep(OUTAGE_SECONDS)
    database.open()

    wait_for(lambda: _health(exam.url, "/health/ready")[0] == 200, timeout=30)
    # The held event was handled: the candidate may now register for a sitting.
    eid = completed.data["enrollment_id"]
    now = datetime.now(timezone.utc).isoformat()
    sitting = wait_for(lambda: [s for s in learner.get("/exam/sittings").json()["items"]
                                if s["registration_closes_at"] > now][0])
    registered = wait_for(lambda: (r := learner.post("/exam/registrations", {
        "enrollment_id": eid, "sitting_id": sitting["sitting_id"]})).status_code == 201 and r,
        timeout=30, message="the held course-completed event was never handled")
    assert registered.json()["attempt_number"] == 1
    assert exam.process.poll() is None and "thread exited with error" not in exam.log()
    assert exam.stop() == 0
