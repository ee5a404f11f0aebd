"""Study time a learner could really have spent, through learning's HTTP API on the real
broker and database, with the production clock allowance (2 minutes): reported sessions
fit the time since their start and never overlap; live sessions are started, kept alive
and ended, idle gaps not counted."""
import uuid
from datetime import timedelta

from sqlalchemy import update

from services.learning.models import LiveStudySession, StudySession
from shared.calendar import utcnow
from shared.persistence.engine import make_engine
from tests.support.learning_accounts import open_account, study

PRODUCTION = {"STUDY_CLOCK_ALLOWANCE_MINUTES": 2, "DAILY_STUDY_CAP_MINUTES": 480}


def test_600_minutes_reported_a_minute_after_the_start_credit_only_what_fits(services, bus):
    sink = bus.sink("learning.account-opened")
    services.start("learning", **PRODUCTION)
    eid, _, learner = open_account(services, bus, sink, activated_at=utcnow() - timedelta(days=3))
    answer = study(learner, eid, "F01", 600, started=utcnow() - timedelta(minutes=1))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted_minutes"] in (3, 2)  # one minute passed (a second more or less), two allowed
    assert body["refused_minutes"] == 600 - body["accepted_minutes"]
    assert [r["rule"] for r in body["refusals"]] == ["LONGER_THAN_ELAPSED"]
    assert "clock allowance" in body["refusal_reason"]
    assert learner.get(f"/learning/accounts/{eid}").json()["courses"][0]["minutes_studied"] == body["accepted_minutes"]


def test_overlapping_sessions_of_a_learner_are_counted_once_across_courses(services, bus):
    sink = bus.sink("learning.account-opened")
    services.start("learning", **PRODUCTION)
    eid, _, learner = open_account(services, bus, sink, activated_at=utcnow() - timedelta(days=3))
    two_hours_ago = utcnow() - timedelta(hours=2)
    first = study(learner, eid, "F01", 60, started=two_hours_ago).json()
    assert (first["accepted_minutes"], first["refused_minutes"]) == (60, 0) and first["refusals"] == []
    # a session recorded before ends were kept counts as its start + its accepted minutes
    engine = make_engine(services.database_urls["learning"])
    with engine.begin() as conn:
        conn.execute(update(StudySession).values(ended_at=None))
    engine.dispose()
    inside = study(learner, eid, "F02", 30, started=two_hours_ago + timedelta(minutes=10)).json()
    assert (inside["accepted_minutes"], inside["refused_minutes"]) == (0, 30)
    assert [r["rule"] for r in inside["refusals"]] == ["OVERLAPPING_SESSION"]
    partly = study(learner, eid, "F02", 30, started=two_hours_ago + timedelta(minutes=50)).json()
    assert (partly["accepted_minutes"], partly["refused_minutes"]) == (20, 10)
    after = study(learner, eid, "F02", 30, started=two_hours_ago + timedelta(minutes=80)).json()
    assert after["accepted_minutes"] == 30
    minutes = {c["code"]: c["minutes_studied"] for c in learner.get(f"/learning/accounts/{eid}").json()["courses"]}
    assert (minutes["F01"], minutes["F02"]) == (60, 50)


def _back(services, session_id, **moved):
    """Time passes for a live session: its instants moved back (the test cannot wait)."""
    engine = make_engine(services.database_urls["learning"])
    with engine.begin() as conn:
        conn.execute(update(LiveStudySession).where(LiveStudySession.session_id == uuid.UUID(session_id))
                     .values(**moved))
    engine.dispose()


def test_a_live_session_credits_the_time_between_heartbeats_but_not_idle_gaps(services, bus):
    sink = bus.sink("learning.account-opened", "learning.study-started")
    services.start("learning", **PRODUCTION)
    eid, _, learner = open_account(services, bus, sink, activated_at=utcnow() - timedelta(days=3))
    base = f"/learning/accounts/{eid}/sessions"

    started = learner.post(base, {"course_code": "F01"})
    assert started.status_code == 201, started.text
    live = started.json()
    assert live["status"] == "open" and live["accepted_minutes"] == 0 and live["heartbeats"] == 0
    sid = live["session_id"]

    five_ago = utcnow() - timedelta(minutes=5)
    _back(services, sid, started_at=five_ago, last_beat_at=five_ago)
    beat = learner.post(f"{base}/{sid}/heartbeats", {})
    assert beat.status_code == 200, beat.text
    assert beat.json()["accepted_minutes"] == 5 and beat.json()["refusals"] == []
    sink.expect("learning.study-started", where=lambda e: str(e.data["enrollment_id"]) == eid)

    idle_since = utcnow() - timedelta(minutes=15)  # longer than the 10-minute idle limit
    _back(services, sid, started_at=idle_since - timedelta(minutes=5), last_beat_at=idle_since)
    idle = learner.post(f"{base}/{sid}/heartbeats", {}).json()
    assert idle["accepted_minutes"] == 5
    assert [(r["rule"], r["minutes"]) for r in idle["refusals"]] == [("IDLE", 15)]
    assert idle["refused_by_rule"] == {"IDLE": 15}

    # a report of the same time as the live session is counted once
    overlapping = study(learner, eid, "F02", 3, started=utcnow() - timedelta(minutes=4)).json()
    assert overlapping["accepted_minutes"] == 0
    assert [r["rule"] for r in overlapping["refusals"]] == ["OVERLAPPING_SESSION"]

    ended = learner.post(f"{base}/{sid}/end", {})
    assert ended.status_code == 200 and ended.json()["status"] == "ended" and ended.json()["ended_at"]
    again = learner.post(f"{base}/{sid}/end", {})
    assert again.status_code == 200 and again.json() == ended.json()
    late = learner.post(f"{base}/{sid}/heartbeats", {})
    assert late.status_code == 409 and late.headers["Content-Type"] == "application/problem+json"
    assert late.json()["type"] == "/problems/session-ended"
    assert learner.get(f"{base}/{sid}").json()["accepted_minutes"] == ended.json()["accepted_minutes"]
    view = learner.get(f"/learning/accounts/{eid}").json()
    assert {c["code"]: c["minutes_studied"] for c in view["courses"]}["F01"] == ended.json()["accepted_minutes"]


def test_live_sessions_refuse_bad_input_and_others_sessions_as_problems(services, bus):
    sink = bus.sink("learning.account-opened")
    services.start("learning", **PRODUCTION)
    eid, _, learner = open_account(services, bus, sink)
    base = f"/learning/accounts/{eid}/sessions"
    for body, status in (({"course_code": "V07"}, 422), ({"course_code": ""}, 422), ({}, 422),
                         ({"course_code": "F" * 11}, 422)):
        answer = learner.post(base, body)
        assert answer.status_code in (400, status), answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"
    assert learner.post(f"{base}/{uuid.uuid4()}/heartbeats", {}).status_code == 404
    sid = learner.post(base, {"course_code": "F01"}).json()["session_id"]
    stranger = services.client("learning", "learner", subject=str(uuid.uuid4()))
    assert stranger.post(f"{base}/{sid}/heartbeats", {}).status_code == 404
    assert stranger.post(base, {"course_code": "F01"}).status_code == 404
    operator = services.client("learning", "base_operator", base="B001")
    assert operator.post(f"{base}/{sid}/end", {}).status_code == 403
    assert learner.post(f"/learning/accounts/{eid}/sessions/not-a-uuid/heartbeats", {}).status_code == 404
