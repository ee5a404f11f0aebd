"""Learning through its event handlers and HTTP API, on the real broker and database."""
import uuid
from datetime import datetime, timedelta, timezone

from shared.calendar import program_date, start_of_day, utcnow
from tests.support import events
from tests.support.learning_accounts import open_account, study


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
    services.start("learning", STUDY_CLOCK_ALLOWANCE_MINUTES=2)  # the production allowance
    eid, _, learner = open_account(services, bus, sink)

    first = study(learner, eid, "F01", 1, session="s-1")  # started a minute ago
    again = study(learner, eid, "F01", 1, session="s-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["course_minutes"] == 1

    wrong = study(learner, eid, "V07", 30)  # an L3-only course
    assert wrong.status_code == 422 and wrong.json()["type"] == "/problems/course-not-in-program"
    other = services.client("learning", "learner", subject=str(uuid.uuid4()))
    assert study(other, eid, "F01", 30).status_code == 404
    assert services.anonymous("learning").post(f"/learning/accounts/{eid}/progress", {}).status_code == 401
    broken = learner.post(f"/learning/accounts/{eid}/progress", data=b"{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.headers["Content-Type"] == "application/problem+json"
    future = study(learner, eid, "F01", 30, started=datetime.now(timezone.utc) + timedelta(hours=1))
    assert future.status_code == 422 and future.json()["rules"][0]["rule"] == "SESSION_IN_FUTURE"


def test_time_beyond_the_daily_cap_is_refused_on_record(services, bus):
    sink = bus.sink("learning.account-opened")
    services.start("learning", DAILY_STUDY_CAP_MINUTES=90)
    eid, _, learner = open_account(services, bus, sink, activated_at=utcnow() - timedelta(days=3))
    # Both sessions on one day in Shanghai, whatever the hour the test runs at (sessions
    # laid end to end from "now" crossed midnight between 23:00 and 24:00 Shanghai).
    yesterday_morning = start_of_day(program_date(utcnow()) - timedelta(days=1)) + timedelta(hours=8)
    assert study(learner, eid, "F01", 60, started=yesterday_morning).json()["accepted_minutes"] == 60
    capped = study(learner, eid, "F02", 60, started=yesterday_morning + timedelta(minutes=60)).json()
    assert (capped["accepted_minutes"], capped["refused_minutes"]) == (30, 30)
    assert "daily study cap" in capped["refusal_reason"]


def test_completing_every_required_course_emits_course_completed_once(services, bus):
    sink = bus.sink("learning.account-opened", "learning.course-completed")
    services.start("learning")
    eid, _, learner = open_account(services, bus, sink)
    catalog = learner.get("/learning/catalog").json()
    hours = {c["code"]: c["class_hours"] for c in catalog["courses"]}
    for code in catalog["programs"]["L4"]:
        answer = study(learner, eid, code, hours[code] * catalog["minutes_per_class_hour"])
        assert answer.status_code == 200, answer.text
    assert answer.json()["coursework_complete"]
    study(learner, eid, "F01", 30)  # more study after completion emits nothing more
    completed = sink.expect("learning.course-completed")
    assert completed.data["total_class_hours"] == 85
    assert completed.correlation_id == uuid.UUID(eid)
    sink.drain(quiet=1.0)
    assert len(sink.of_type("learning.course-completed")) == 1
    base = services.client("learning", "base_operator", base="B001")
    view = base.get(f"/learning/accounts/{eid}").json()
    assert view["coursework_complete"] and view["categories"]["foundation"]["class_hours_completed"] == 30
    assert services.client("learning", "base_operator", base="B999").get(f"/learning/accounts/{eid}").status_code == 404
