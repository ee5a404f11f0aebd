"""Learning through its event handlers and HTTP API, on the real broker and database."""
import uuid
from datetime import datetime, timedelta, timezone

from tests.support import events


def _open_account(services, bus, sink, enrolled=None):
    enrolled = enrolled or events.enrolled()
    bus.publish(enrolled)
    bus.publish(events.paid(enrolled))
    opened = sink.expect("learning.account-opened",
                         where=lambda e: str(e.data["enrollment_id"]) == enrolled.data["enrollment_id"])
    learner = services.client("learning", "learner", subject=enrolled.data["learner_id"])
    return enrolled, opened, learner


def _study(learner, enrollment_id, course, minutes, session=None, started=None):
    return learner.post(f"/learning/accounts/{enrollment_id}/progress", {
        "session_id": session or uuid.uuid4().hex, "course_code": course,
        "started_at": (started or datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(),
        "minutes": minutes})


def test_payment_opens_one_account_valid_six_months(services, bus):
    sink = bus.sink("learning.account-opened")
    services.start("learning")
    enrolled, opened, learner = _open_account(services, bus, sink)
    assert opened.data["catalog_version"] == "2026.1"
    account = learner.get(f"/learning/accounts/{enrolled.data['enrollment_id']}").json()
    assert account["status"] == "active" and account["valid_until"] == opened.data["valid_until"].isoformat()
    assert len(account["courses"]) == 31 and not account["coursework_complete"]


def test_paid_before_enrolled_still_opens_exactly_one_account(services, bus):
    sink = bus.sink("learning.account-opened")
    services.start("learning")
    enrolled = events.enrolled()
    payment = events.paid(enrolled)
    bus.publish(payment)
    bus.publish(payment)  # and a redelivery of it
    bus.publish(enrolled)
    sink.expect("learning.account-opened")
    later = events.enrolled()  # once a later journey is through, the retries are too
    bus.publish(later)
    bus.publish(events.paid(later))
    sink.expect("learning.account-opened", where=lambda e: str(e.data["enrollment_id"]) == later.data["enrollment_id"])
    mine = [e for e in sink.drain(quiet=1.0) if str(e.data["enrollment_id"]) == enrolled.data["enrollment_id"]]
    assert len(mine) == 1


def test_study_is_recorded_once_per_session_and_refused_outside_the_program(services, bus):
    sink = bus.sink("learning.account-opened")
    services.start("learning")
    enrolled, _, learner = _open_account(services, bus, sink)
    eid = enrolled.data["enrollment_id"]

    first = _study(learner, eid, "F01", 60, session="s-1")
    again = _study(learner, eid, "F01", 60, session="s-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["course_minutes"] == 60

    wrong = _study(learner, eid, "V07", 30)  # an L3-only course
    assert wrong.status_code == 422 and wrong.json()["type"] == "/problems/course-not-in-program"
    other = services.client("learning", "learner", subject=str(uuid.uuid4()))
    assert _study(other, eid, "F01", 30).status_code == 404
    assert services.anonymous("learning").post(f"/learning/accounts/{eid}/progress", {}).status_code == 401
    broken = learner.post(f"/learning/accounts/{eid}/progress", data=b"{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.headers["Content-Type"] == "application/problem+json"
    future = _study(learner, eid, "F01", 30, started=datetime.now(timezone.utc) + timedelta(hours=1))
    assert future.status_code == 422 and future.json()["rules"][0]["rule"] == "SESSION_IN_FUTURE"


def test_time_beyond_the_daily_cap_is_refused_on_record(services, bus):
    sink = bus.sink("learning.account-opened")
    services.start("learning", DAILY_STUDY_CAP_MINUTES=90)
    enrolled, _, learner = _open_account(services, bus, sink)
    eid = enrolled.data["enrollment_id"]
    assert _study(learner, eid, "F01", 60).json()["accepted_minutes"] == 60
    capped = _study(learner, eid, "F02", 60).json()
    assert (capped["accepted_minutes"], capped["refused_minutes"]) == (30, 30)
    assert "daily study cap" in capped["refusal_reason"]


def test_completing_every_required_course_emits_course_completed_once(services, bus):
    sink = bus.sink("learning.account-opened", "learning.course-completed")
    services.start("learning")
    enrolled, _, learner = _open_account(services, bus, sink)
    eid = enrolled.data["enrollment_id"]
    catalog = learner.get("/learning/catalog").json()
    hours = {c["code"]: c["class_hours"] for c in catalog["courses"]}
    for code in catalog["programs"]["L4"]:
        answer = _study(learner, eid, code, hours[code] * catalog["minutes_per_class_hour"])
        assert answer.status_code == 200, answer.text
    assert answer.json()["coursework_complete"]
    _study(learner, eid, "F01", 30)  # more study after completion emits nothing more
    completed = sink.expect("learning.course-completed")
    assert completed.data["total_class_hours"] == 85
    assert completed.correlation_id == uuid.UUID(eid)
    sink.drain(quiet=1.0)
    assert len(sink.of_type("learning.course-completed")) == 1
    base = services.client("learning", "base_operator", base="B001")
    view = base.get(f"/learning/accounts/{eid}").json()
    assert view["coursework_complete"] and view["categories"]["foundation"]["class_hours_completed"] == 30
    assert services.client("learning", "base_operator", base="B999").get(f"/learning/accounts/{eid}").status_code == 404
