"""Accounts through the API and the event handlers on the real broker and database:
extension, refund, expiry, study-started and the day cap at midnight Asia/Shanghai."""
import re
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone

from eventlet.greenpool import GreenPool
from sqlalchemy import update

from services.learning.models import Account
from shared.calendar import PROGRAM_TZ, program_date, start_of_day, utcnow
from shared.persistence.engine import make_engine
from tests.support import events
from tests.support.learning_accounts import open_account, study
from tests.support.wait import wait_for


def _account(client, eid):
    return client.get(f"/learning/accounts/{eid}").json()


def test_an_administrator_extends_a_running_account_on_record(services, bus):
    sink = bus.sink("learning.account-opened", "learning.account-extended")
    services.start("learning")
    eid, opened, learner = open_account(services, bus, sink)
    admin = services.client("learning", "admin", subject="admin-42")
    until = opened.data["valid_until"]
    later = until + timedelta(days=30)

    answer = admin.post(f"/learning/accounts/{eid}/extensions",
                        {"valid_until": later.isoformat(), "reason": "hospital stay, certificate seen"})
    assert answer.status_code == 201, answer.text
    account = answer.json()
    assert account["valid_until"] == later.isoformat()
    assert account["extensions"] == [{"previous_valid_until": until.isoformat(), "valid_until": later.isoformat(),
                                      "reason": "hospital stay, certificate seen", "extended_by": "admin-42",
                                      "extended_at": account["extensions"][0]["extended_at"]}]
    extended = sink.expect("learning.account-extended")
    assert (extended.data["previous_valid_until"], extended.data["valid_until"]) == (until, later)
    assert str(extended.correlation_id) == eid and extended.data["reason"] == "hospital stay, certificate seen"

    not_later = admin.post(f"/learning/accounts/{eid}/extensions", {"valid_until": until.isoformat(),
                                                                     "reason": "typo"})
    assert not_later.status_code == 422 and not_later.json()["rules"][0]["rule"] == "NOT_LATER"
    assert admin.post(f"/learning/accounts/{eid}/extensions", {"valid_until": later.isoformat()}).status_code == 422
    assert learner.post(f"/learning/accounts/{eid}/extensions",
                        {"valid_until": (later + timedelta(days=1)).isoformat(), "reason": "me"}).status_code == 403
    assert admin.post("/learning/accounts/00000000-0000-0000-0000-000000000000/extensions",
                      {"valid_until": later.isoformat(), "reason": "nobody"}).status_code == 404
    assert _account(learner, eid)["valid_until"] == later.isoformat()
    sink.drain(quiet=0.5)
    assert len(sink.of_type("learning.account-extended")) == 1


def test_a_refund_that_overtakes_the_payment_waits_for_the_account_then_closes_it(services, bus):
    """Delivery only: what a refund does to an account is tests/actions/test_learning_accounts.py."""
    sink = bus.sink("learning.account-opened")
    services.start("learning")
    enrolled = events.enrolled()
    late = enrolled.data["enrollment_id"]
    refund = events.refunded(enrolled)
    bus.publish(refund)
    bus.publish(refund)  # redelivered
    bus.publish(enrolled)
    bus.publish(events.paid(enrolled))
    sink.expect("learning.account-opened", where=lambda e: str(e.data["enrollment_id"]) == late)
    learner = services.client("learning", "learner", subject=enrolled.data["learner_id"])
    wait_for(lambda: _account(learner, late)["status"] == "closed", timeout=20)
    assert _account(learner, late)["closed_reason"] == "refunded: the learner withdrew"


def test_study_started_is_emitted_once_and_the_day_cap_resets_at_shanghai_midnight(services, bus):
    sink = bus.sink("learning.account-opened", "learning.study-started")
    services.start("learning", DAILY_STUDY_CAP_MINUTES=60)
    eid, _, learner = open_account(services, bus, sink, activated_at=utcnow() - timedelta(days=3))
    today = program_date(utcnow())
    midnight = start_of_day(today)  # 00:00 today in Shanghai = 16:00 UTC the day before
    last_minute = midnight - timedelta(minutes=1)  # 23:59 yesterday in Shanghai = 15:59 UTC
    assert last_minute.astimezone(timezone.utc).hour == 15

    assert study(learner, eid, "V07", 30, started=last_minute).status_code == 422  # not in L4: no study yet
    first = study(learner, eid, "F01", 60, started=last_minute).json()
    assert (first["accepted_minutes"], first["refused_minutes"]) == (60, 0)
    # (sessions of one learner never overlap: F01 runs 23:59-00:59)
    over = study(learner, eid, "F02", 15, started=last_minute - timedelta(minutes=20)).json()
    assert (over["accepted_minutes"], over["refused_minutes"]) == (0, 15)
    assert "daily study cap of 60 minutes" in over["refusal_reason"]
    assert [r["rule"] for r in over["refusals"]] == ["DAILY_CAP"]
    next_day = study(learner, eid, "F02", 45, started=midnight + timedelta(hours=1)).json()
    assert (next_day["accepted_minutes"], next_day["refused_minutes"]) == (45, 0)
    rest = study(learner, eid, "F03", 30, started=midnight + timedelta(hours=2)).json()
    assert (rest["accepted_minutes"], rest["refused_minutes"]) == (15, 15)

    started = sink.expect("learning.study-started")
    assert started.data["started_at"] == last_minute.astimezone(timezone.utc)
    assert str(started.correlation_id) == eid
    sink.drain(quiet=0.5)
    assert len(sink.of_type("learning.study-started")) == 1
    view = _account(learner, eid)
    assert datetime.fromisoformat(view["study_started_at"]) == last_minute
    assert view["categories"]["foundation"]["minutes_studied"] == 60 + 45 + 15


def test_the_expiry_timer_expires_each_ended_account_once_and_survives_a_restart(services, bus):
    sink = bus.sink("learning.account-opened", "learning.account-expired", "learning.course-completed")
    settings = {"EXPIRY_INTERVAL_SECONDS": 0.2, "EXPIRY_BATCH": 2}
    services.start("learning", **settings)
    long_ago = utcnow() - timedelta(days=200)  # six months and more: ended
    ended = [open_account(services, bus, sink, activated_at=long_ago)[0] for _ in range(3)]
    done_eid, _, done_learner = open_account(services, bus, sink)
    running_eid = open_account(services, bus, sink)[0]

    catalog = done_learner.get("/learning/catalog").json()
    hours = {c["code"]: c["class_hours"] for c in catalog["courses"]}
    for code in catalog["programs"]["L4"]:
        assert study(done_learner, done_eid, code, hours[code] * 45).status_code == 200
    sink.expect("learning.course-completed")
    # Time passes for this one: its last day was yesterday (Asia/Shanghai).
    engine = make_engine(services.database_urls["learning"])
    with engine.begin() as conn:
        conn.execute(update(Account).where(Account.enrollment_id == uuid.UUID(done_eid))
                     .values(valid_until=program_date(utcnow()) - timedelta(days=1)))
    engine.dispose()

    for eid in ended + [done_eid]:
        sink.expect("learning.account-expired", where=lambda e, eid=eid: str(e.data["enrollment_id"]) == eid)
    expired = {str(e.data["enrollment_id"]): e for e in sink.of_type("learning.account-expired")}
    assert expired[done_eid].data["coursework_complete"] is True
    assert not any(expired[eid].data["coursework_complete"] for eid in ended)
    admin = services.client("learning", "admin")
    view = _account(admin, ended[0])
    assert view["status"] == "expired" and view["expired_at"]
    refused = study(services.client("learning", "learner", subject=view["learner_id"]), ended[0], "F01", 5,
                    started=datetime.combine(date.fromisoformat(view["valid_until"]), datetime.min.time(),
                                             tzinfo=PROGRAM_TZ))
    assert refused.status_code == 422
    extension = admin.post(f"/learning/accounts/{ended[0]}/extensions",
                           {"valid_until": (date.today() + timedelta(days=30)).isoformat(), "reason": "late"})
    assert extension.status_code == 422 and extension.json()["rules"][0]["rule"] == "ACCOUNT_NOT_ACTIVE"

    services.stop("learning")
    services.start("learning", **settings)  # the same database: a restart
    after_restart = open_account(services, bus, sink, activated_at=long_ago)[0]
    sink.expect("learning.account-expired", where=lambda e: str(e.data["enrollment_id"]) == after_restart)
    sink.drain(quiet=1.0)
    counts = Counter(str(e.data["enrollment_id"]) for e in sink.of_type("learning.account-expired"))
    assert counts == Counter(ended + [done_eid, after_restart])  # each once, the running one not at all
    assert _account(services.client("learning", "admin"), running_eid)["status"] == "active"


def test_concurrent_reports_sharing_a_commit_each_count_once_and_the_cap_holds(services, bus):
    sink = bus.sink("learning.account-opened", "learning.study-started")
    services.start("learning", DAILY_STUDY_CAP_MINUTES=8, PROGRESS_BATCH_WINDOW_SECONDS=0.05)
    eid, _, learner = open_account(services, bus, sink, activated_at=utcnow() - timedelta(days=3))
    # every report on one Shanghai day, whatever the hour the test runs at
    started = start_of_day(program_date(utcnow()) - timedelta(days=1)) + timedelta(hours=8)
    # one-minute reports a minute apart (a learner's sessions never overlap)
    heartbeats = [("F01", f"hb-{i}", started + timedelta(minutes=i)) for i in range(10)]
    reports = heartbeats + heartbeats[:5] + [("V07", f"wrong-{i}", started) for i in range(5)]
    pool = GreenPool(len(reports))
    answers = list(pool.imap(lambda r: study(learner, eid, r[0], 1, session=r[1], started=r[2]), reports))

    assert sorted(a.status_code for a in answers) == [200] * 15 + [422] * 5
    by_session = {}
    for (course, session, _), answer in zip(reports, answers):
        if answer.status_code == 200:
            by_session.setdefault(session, []).append(answer.json()["accepted_minutes"])
    assert all(len(set(seen)) == 1 for seen in by_session.values())  # a resend answers alike
    assert sum(seen[0] for seen in by_session.values()) == 8  # the cap, not 10 and not 13
    view = _account(learner, eid)
    assert view["courses"][0]["minutes_studied"] == 8
    sink.drain(quiet=0.5)
    assert len(sink.of_type("learning.study-started")) == 1
    metrics = services.anonymous("learning").get("/metrics").text
    commits = float(re.search(r'^cea_group_commit_size_count\{name="progress"\} (\S+)$' , metrics, re.M).group(1))
    grouped = float(re.search(r'^cea_group_commit_size_sum\{name="progress"\} (\S+)$' , metrics, re.M).group(1))
    assert grouped == len(reports) and commits < len(reports)  # reports did share commits


def test_a_repeated_extension_answers_the_account_and_records_one_extension(services, bus):
    sink = bus.sink("learning.account-opened", "learning.account-extended")
    services.start("learning")
    eid, opened, _ = open_account(services, bus, sink)
    admin = services.client("learning", "admin", subject="admin-42")
    asked = {"valid_until": (opened.data["valid_until"] + timedelta(days=30)).isoformat(), "reason": "住院治疗，证明已核"}
    first = admin.post(f"/learning/accounts/{eid}/extensions", asked)
    again = admin.post(f"/learning/accounts/{eid}/extensions", asked)
    assert first.status_code == 201 and again.status_code == 200 and again.json() == first.json()
    assert len(again.json()["extensions"]) == 1
    sink.expect("learning.account-extended")
    sink.drain(quiet=0.5)
    assert len(sink.of_type("learning.account-extended")) == 1
