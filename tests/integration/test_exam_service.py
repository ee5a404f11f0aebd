"""Exam through its event handler, timers and HTTP API, on the real broker and database."""
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import eventlet

from shared.persistence.database import Database
from services.exam import papers
from tests.support import events
from tests.support.exam_answers import correct_answers
from tests.support.wait import wait_for


def _candidate(services, bus):
    enrolled = events.enrolled()
    bus.publish(events.course_completed(enrolled))
    learner = services.client("exam", "learner", subject=enrolled.data["learner_id"])
    return enrolled.data["enrollment_id"], learner


def _sitting(services, starts=None, capacity=10, level="both"):
    admin = services.client("exam", "admin")
    starts = starts or datetime.now(timezone.utc) - timedelta(minutes=1)
    answer = admin.post("/exam/sittings", {  # a make-up sitting admitting late registration
        "starts_at": starts.isoformat(), "level": level, "capacity": capacity,
        "registration_closes_at": (starts + timedelta(minutes=60)).isoformat()})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _register(learner, enrollment_id, sitting_id):
    return learner.post("/exam/registrations", {"enrollment_id": enrollment_id, "sitting_id": sitting_id})


def _registered(learner, enrollment_id, sitting_id):
    answer = wait_for(lambda: (r := _register(learner, enrollment_id, sitting_id)).status_code != 422 and r)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_generated_sittings_follow_the_last_weekend_rule(services):
    services.start("exam")
    items = services.client("exam", "learner", subject=str(uuid.uuid4())).get("/exam/sittings").json()["items"]
    generated = [s for s in items if s["origin"] == "generated"]
    assert generated and all(datetime.fromisoformat(s["starts_at"]).astimezone(
        timezone(timedelta(hours=8))).hour in (9, 14) for s in generated)


def test_a_candidate_sits_is_marked_and_graded_once(services, bus):
    sink = bus.sink("exam.graded")
    services.start("exam")
    enrollment_id, learner = _candidate(services, bus)
    sitting = _sitting(services)
    registration = _registered(learner, enrollment_id, sitting["sitting_id"])
    assert registration["attempt_number"] == 1

    paper = learner.get(f"/exam/registrations/{registration['registration_id']}/paper").json()
    assert len(paper["questions"]) == 100
    assert all("answer" not in q and "rubric" not in q for q in paper["questions"])
    answers = correct_answers(paper)
    for number, answer in answers.items():
        saved = learner.put(f"/exam/papers/{paper['paper_id']}/answers/{number}", {"answer": answer})
        assert saved.status_code == 200, saved.text
    again = learner.get(f"/exam/registrations/{registration['registration_id']}/paper").json()
    assert again["paper_id"] == paper["paper_id"] and len(again["answers"]) == 100  # autosaved
    result = learner.post(f"/exam/papers/{paper['paper_id']}/submit").json()
    assert result["final"] is False  # short answers wait for an examiner
    late = learner.put(f"/exam/papers/{paper['paper_id']}/answers/1", {"answer": "A"})
    assert late.status_code == 409

    examiner = services.client("exam", "examiner")
    queue = examiner.get(f"/exam/marking?sitting_id={sitting['sitting_id']}").json()
    assert len(queue["items"]) == 5 and queue["left_per_sitting"][sitting["sitting_id"]] == 5
    page = examiner.get(f"/exam/marking?sitting_id={sitting['sitting_id']}&limit=2").json()
    assert [i["number"] for i in page["items"]] == [i["number"] for i in queue["items"]][:2]
    assert page["left_per_sitting"] == {sitting["sitting_id"]: 5}
    too_much = examiner.post(f"/exam/marking/{paper['paper_id']}/{queue['items'][0]['number']}",
                             {"points": "4.5", "comment": "?"})
    assert too_much.status_code == 422
    for item in queue["items"]:
        marked = examiner.post(f"/exam/marking/{paper['paper_id']}/{item['number']}",
                               {"points": "3.0", "comment": "要点基本齐全"})
        assert marked.status_code == 204, marked.text

    graded = sink.expect("exam.graded")
    assert graded.data["score"] == Decimal("95.0") and graded.data["passed"]
    assert str(graded.data["enrollment_id"]) == enrollment_id
    final = learner.get(f"/exam/registrations/{registration['registration_id']}/result").json()
    assert final == {"registration_id": registration["registration_id"], "final": True,
                     "score": "95.0", "passed": True, "attempt_number": 1}
    sink.drain(quiet=1.0)
    assert len(sink.of_type("exam.graded")) == 1


def test_registration_refusals(services, bus):
    services.start("exam")
    enrollment_id, learner = _candidate(services, bus)
    sitting = _sitting(services)
    stranger = services.client("exam", "learner", subject=str(uuid.uuid4()))
    unknown = _register(stranger, str(uuid.uuid4()), sitting["sitting_id"])
    assert unknown.status_code == 422 and unknown.json()["type"] == "/problems/coursework-incomplete"
    _registered(learner, enrollment_id, sitting["sitting_id"])
    assert _register(stranger, enrollment_id, sitting["sitting_id"]).status_code == 404
    assert _register(learner, enrollment_id, sitting["sitting_id"]).status_code == 200  # a repeat
    other = _register(learner, enrollment_id, _sitting(services)["sitting_id"])
    assert other.status_code == 409  # one open at a time
    l3_only = _sitting(services, level="L3")
    assert _register(learner, enrollment_id, l3_only["sitting_id"]).status_code == 422


def test_the_paper_opens_only_inside_its_slot(services, bus):
    services.start("exam")
    enrollment_id, learner = _candidate(services, bus)
    later = _sitting(services, starts=datetime.now(timezone.utc) + timedelta(hours=2))
    registration = _registered(learner, enrollment_id, later["sitting_id"])
    answer = learner.get(f"/exam/registrations/{registration['registration_id']}/paper")
    assert answer.status_code == 409 and answer.json()["type"] == "/problems/paper-not-open"


def test_seats_are_never_oversold(services, bus):
    services.start("exam")
    sitting = _sitting(services, capacity=3)
    candidates = [_candidate(services, bus) for _ in range(8)]
    for enrollment_id, learner in candidates:  # every projection is in before the race
        wait_for(lambda: _register(learner, enrollment_id, str(uuid.uuid4())).status_code == 404)
    pool = eventlet.GreenPool(8)
    codes = list(pool.imap(lambda c: _register(c[1], c[0], sitting["sitting_id"]).status_code, candidates))
    assert sorted(codes) == [201] * 3 + [409] * 5
    admin = services.client("exam", "admin")
    listed = {s["sitting_id"]: s for s in admin.get("/exam/sittings").json()["items"]}
    assert listed[sitting["sitting_id"]]["seats_left"] == 0


def test_the_slot_end_closes_the_paper_and_an_absence_counts_as_zero(services, bus):
    sink = bus.sink("exam.graded")
    container = services.start("exam")
    present_id, present = _candidate(services, bus)
    absent_id, absent = _candidate(services, bus)
    sitting = _sitting(services)
    sat = _registered(present, present_id, sitting["sitting_id"])
    _registered(absent, absent_id, sitting["sitting_id"])
    paper = present.get(f"/exam/registrations/{sat['registration_id']}/paper").json()
    answers = correct_answers(paper)
    for number in list(answers)[:70]:
        if paper["questions"][number - 1]["type"] != "short_answer":
            present.put(f"/exam/papers/{paper['paper_id']}/answers/{number}", {"answer": answers[number]})

    # The timer's tick, at the slot's end (the clock is the only thing moved).
    database = next(e for e in container.extensions if isinstance(e, Database))
    after = datetime.fromisoformat(sitting["ends_at"]) + timedelta(seconds=1)
    with database.transaction() as tx:
        assert papers.close_due(tx, after) == 2
    with database.transaction() as tx:
        assert papers.close_due(tx, after) == 0  # idempotent

    graded = {str(e.data["enrollment_id"]): e for e in
              (sink.expect("exam.graded"), sink.expect("exam.graded", where=lambda e: str(e.data["enrollment_id"]) != str(sink.received[0].data["enrollment_id"])))}
    assert graded[absent_id].data["score"] == Decimal("0.0") and not graded[absent_id].data["passed"]
    assert Decimal(0) < graded[present_id].data["score"] <= Decimal(70)
    closed = present.put(f"/exam/papers/{paper['paper_id']}/answers/99", {"answer": True})
    assert closed.status_code == 409
