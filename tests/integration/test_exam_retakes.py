"""Retakes through the API and billing's event, on the real broker and database:
the first failure's free retake, then a paid retake asked for once and usable
when billing reports it paid. An absence is an attempt scored 0."""
from decimal import Decimal

from tests.support import exam_flow as flow


def _absent_from_a_sitting(services, container, sink, learner, eid, expected_attempt):
    sitting = flow.sitting(services)
    reg = flow.registered(learner, eid, sitting["sitting_id"])
    assert reg["attempt_number"] == expected_attempt
    assert flow.close_all(container, flow.after(sitting)) == 1
    graded = sink.expect("exam.graded", where=lambda e: str(e.data["attempt_id"]) == reg["registration_id"])
    assert graded.data["score"] == Decimal("0.0") and graded.data["attempt_number"] == expected_attempt


def test_the_free_retake_then_a_paid_retake_asked_once_and_allowed_when_paid(services, bus):
    sink = bus.sink("exam.graded", "exam.retake-required")
    container = services.start("exam")
    eid, learner, learner_id = flow.candidate(services, bus)

    early = learner.post(f"/exam/enrollments/{eid}/retakes")
    assert early.status_code == 409  # no attempt yet: nothing to pay for
    _absent_from_a_sitting(services, container, sink, learner, eid, 1)
    free = learner.post(f"/exam/enrollments/{eid}/retakes")
    assert free.status_code == 409 and free.json()["type"] == "/problems/no-paid-retake-needed"
    _absent_from_a_sitting(services, container, sink, learner, eid, 2)  # the free retake, used

    sitting = flow.sitting(services)
    refused = flow.register(learner, eid, sitting["sitting_id"])
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/paid-retake-required"
    assert refused.json()["attempt_number"] == 3 and refused.json()["reason"] == "free_retake_used"

    stranger = services.client("exam", "learner", subject="00000000-0000-4000-8000-000000000000")
    assert stranger.post(f"/exam/enrollments/{eid}/retakes").status_code == 404
    asked = learner.post(f"/exam/enrollments/{eid}/retakes")
    assert asked.status_code == 201, asked.text
    assert asked.json()["attempt_number"] == 3 and asked.json()["paid"] is False
    again = learner.post(f"/exam/enrollments/{eid}/retakes")
    assert again.status_code == 200 and again.json()["required_at"] == asked.json()["required_at"]
    required = sink.expect("exam.retake-required")
    assert str(required.data["enrollment_id"]) == eid and required.data["attempt_number"] == 3
    assert required.data["reason"] == "free_retake_used" and required.data["level"] == "L4"
    assert str(required.correlation_id) == eid
    assert flow.register(learner, eid, sitting["sitting_id"]).status_code == 422  # not paid yet

    paid = flow.retake_paid(eid, learner_id, 3)
    bus.publish(paid)
    bus.publish(paid)  # delivered twice: counts once
    third = flow.wait_for(lambda: (r := flow.register(learner, eid, sitting["sitting_id"])).status_code == 201 and r)
    assert third.json()["attempt_number"] == 3
    assert learner.post(f"/exam/enrollments/{eid}/retakes").status_code == 409  # attempt 3 is paid
    sink.drain(quiet=1.0)
    assert len(sink.of_type("exam.retake-required")) == 1
