"""Idempotency-Key on the creating POSTs (docs/api-conventions.md, "Retries"), on the
real broker and both databases: a retry with the key gets the first success again
and creates nothing; the key with another request is refused; a refusal is not
kept; a key still being answered is a 409; one left by a dead process is taken over."""
import json
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select

from shared.persistence.database import Database
from shared.web.idempotency import TABLE, fingerprint
from tests.support import enrollment_people as applicants
from tests.support import events, payments, people
from tests.support import exam_flow as flow
from tests.support.billing_helpers import enroll, order_of
from tests.support.wait import wait_for

KEY = "Idempotency-Key"


def _database(container) -> Database:
    return next(e for e in container.extensions if isinstance(e, Database))


def test_an_application_retried_with_its_key_is_answered_again_and_enrolled_once(services, bus):
    sink = bus.sink("enrollment.enrolled")
    services.start("enrollment")
    services.client("enrollment", "admin").post("/enrollment/bases", people.base("B001"))
    operator = services.client("enrollment", "base_operator", base="B001", subject="op-1")
    application, key = applicants.application(), str(uuid.uuid4())

    first = operator.post("/enrollment/enrollments", application, headers={KEY: key})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = operator.post("/enrollment/enrollments", {**application}, headers={KEY: key})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert operator.get("/enrollment/enrollments").json()["total"] == 1
    sink.expect("enrollment.enrolled")
    sink.drain(quiet=0.5)
    assert len(sink.of_type("enrollment.enrolled")) == 1

    reused = operator.post("/enrollment/enrollments", applicants.application(), headers={KEY: key})
    assert reused.status_code == 422 and reused.json()["type"] == "/problems/idempotency-key-reused"
    assert operator.get("/enrollment/enrollments").json()["total"] == 1
    # A key belongs to its caller: another operator's same key is another request.
    colleague = services.client("enrollment", "base_operator", base="B001", subject="op-2")
    theirs = colleague.post("/enrollment/enrollments", applicants.application(), headers={KEY: key})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    too_long = operator.post("/enrollment/enrollments", application, headers={KEY: "k" * 256})
    assert too_long.status_code == 400 and too_long.json()["type"] == "/problems/invalid-idempotency-key"


def test_a_refusal_is_not_kept_so_the_same_key_registers_once_the_rule_holds(services, bus):
    from services.exam.models import metadata
    container = services.start("exam")
    sitting = flow.sitting(services)
    enrolled = events.enrolled(level="L4")
    eid, learner_id = str(enrolled.data["enrollment_id"]), str(enrolled.data["learner_id"])
    learner = services.client("exam", "learner", subject=learner_id)
    body, key = {"enrollment_id": eid, "sitting_id": sitting["sitting_id"]}, "reg-" + eid

    early = learner.post("/exam/registrations", body, headers={KEY: key})
    assert early.status_code == 422 and early.json()["type"] == "/problems/coursework-incomplete"
    bus.publish(events.course_completed(enrolled, level="L4"))
    made = wait_for(lambda: (a := learner.post("/exam/registrations", body, headers={KEY: key}))
                    .status_code == 201 and a)
    replayed = learner.post("/exam/registrations", body, headers={KEY: key})
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json() == made.json()
    assert learner.get("/exam/registrations").json()["total"] == 1
    table = metadata.tables[TABLE]
    with _database(container).read() as session:
        assert session.scalars(select(table.c.state).where(table.c.key == key)).all() == ["done"]


def test_a_key_being_answered_is_a_409_and_one_left_by_a_dead_process_is_taken_over(services, bus):
    from services.billing.models import metadata
    sink = bus.sink("billing.paid")
    container = services.start("billing")
    clerk = services.client("billing", "finance_clerk", subject="clerk-1")
    event = enroll(bus, "周密")
    order = order_of(clerk, event)
    payments.notify(services.anonymous("billing"), order["order_id"], 390000, "WX-ZM")
    sink.expect("billing.paid")

    # An invoice asked for twice with one key: the same invoice, one on the order.
    learner = services.client("billing", "learner", subject=str(event.data["learner_id"]))
    invoices = f"/billing/orders/{order['order_id']}/invoices"
    issued = learner.post(invoices, {"title_kind": "personal"}, headers={KEY: "invoice-1"})
    again = learner.post(invoices, {"title_kind": "personal"}, headers={KEY: "invoice-1"})
    assert issued.status_code == again.status_code == 201 and again.content == issued.content
    assert again.headers["Idempotent-Replayed"] == "true" and learner.get(invoices).json()["total"] == 1

    table, database = metadata.tables[TABLE], _database(container)
    refund_path, reason = f"/billing/orders/{order['order_id']}/refund", {"reason": "withdrew"}

    def claimed(key, age):  # what a request still running (or one whose process died) leaves behind
        with database.transaction() as tx:
            tx.session.execute(insert(table).values(
                caller="finance_clerk:clerk-1:", key=key, state="pending",
                fingerprint=fingerprint("POST", refund_path, "", json.dumps(reason).encode()),
                created_at=datetime.now(timezone.utc) - age))

    claimed("running", timedelta(seconds=1))
    busy = clerk.post(refund_path, reason, headers={KEY: "running"})
    assert busy.status_code == 409 and busy.json()["type"] == "/problems/idempotency-key-in-progress"
    assert busy.headers["Retry-After"] and clerk.get(f"/billing/orders/{order['order_id']}").json()[
        "status"] == "paid"

    claimed("orphan", timedelta(hours=1))
    refund = clerk.post(refund_path, reason, headers={KEY: "orphan"})
    assert refund.status_code == 201, refund.text
    replayed = clerk.post(refund_path, reason, headers={KEY: "orphan"})
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json() == refund.json()
