"""Learner logins on the real broker and database: opened by payment with an initial
password delivered by SMS, changed at first login; refresh rotation and reuse; logout;
lockout per account and per client; reset by a one-time code; nothing secret in a log
line or an event."""
import json
import logging
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.identity.models import Account, ClientFailures
from shared.calendar import utcnow
from shared.persistence.engine import make_engine
from shared.tokens import InvalidToken, TokenVerifier
from tests.support import events
from tests.support.identity_flow import enrolled, log_in, mobile, open_login
from tests.support.services import Client
from tests.support.sinks import SmsOutbox, reset_code

FULL_ID = re.compile(r"[0-9]{17}[0-9X]")
GOOD = "绿色低碳-Tan2026!"


@pytest.fixture
def identity(services):
    services.start("identity")
    return services


def _bearer(services, token):
    return Client(services.url("identity"), token)


def test_payment_opens_a_login_whose_initial_password_only_changes_it(identity, bus, keys, caplog):
    caplog.set_level(logging.DEBUG)
    sink = bus.sink("identity.login-opened", "identity.notice-delivered")
    learner = open_login(identity, bus)
    sms = SmsOutbox(identity.workdir / "sms.jsonl")
    [opened] = [m["text"] for m in sms.messages(learner.mobile) if "初始密码" in m["text"]]
    assert learner.id_number[:4] + "**********" + learner.id_number[-4:] in opened
    assert not FULL_ID.search(opened), "a notice shows the full ID number"
    anonymous = identity.anonymous("identity")

    # The first login (ID number typed with a lower-case x or full-width digits works too) may only change it.
    first = log_in(anonymous, learner.id_number.lower(), learner.password)
    assert first.status_code == 201, first.text
    setup = first.json()
    assert setup["setup"] == ["password"] and setup["refresh_token"] is None and setup["role"] == "learner"
    with pytest.raises(InvalidToken, match="(?i)audience"):
        TokenVerifier([keys.public]).verify(setup["access_token"])
    assert _bearer(identity, setup["access_token"]).get("/identity/me").status_code == 401

    change = _bearer(identity, setup["access_token"])
    for weak, rule in (("short1A!", "MIN_LENGTH"), (learner.password, "NOT_CURRENT"),
                       ("1234567890", "NOT_COMMON"), (f"my{learner.id_number}", "NOT_LOGIN_NAME")):
        refused = change.put("/identity/me/password", {"current_password": learner.password, "new_password": weak})
        assert refused.status_code == 422 and rule in [r["rule"] for r in refused.json()["rules"]], refused.text
    wrong = change.put("/identity/me/password", {"current_password": "not-it-at-all", "new_password": GOOD})
    assert wrong.status_code == 403 and wrong.json()["type"] == "/problems/wrong-password"
    assert change.put("/identity/me/password", {"current_password": learner.password,
                                                "new_password": GOOD}).status_code == 204

    assert log_in(anonymous, learner.id_number, learner.password).status_code == 403
    full = log_in(anonymous, learner.id_number, GOOD)
    assert full.status_code == 201 and full.json()["setup"] == [] and full.json()["refresh_token"]
    principal = TokenVerifier([keys.public]).verify(full.json()["access_token"])
    assert (principal.role, principal.subject) == ("learner", learner.learner_id)
    me = _bearer(identity, full.json()["access_token"]).get("/identity/me").json()
    assert me["verified_channels"] == ["sms"] and me["login"] == learner.id_number[:4] + "*" * 10 + learner.id_number[-4:]

    # The same payment delivered again, and a second paid enrollment (another base entered
    # another mobile): no second login, no second password, and the login keeps its mobile.
    bus.publish(learner.paid)
    again = enrolled(learner.id_number, mobile(), base_code="B002", level="L3", learner_id=learner.learner_id)
    bus.publish(again)
    bus.publish(events.paid(again, amount_fen=490000))
    sink.expect("identity.notice-delivered", where=lambda e: e.data["kind"] == "payment-received"
                and e.correlation_id == again.correlation_id)
    sink.drain(quiet=1.0)
    assert len(sink.of_type("identity.login-opened")) == 1
    assert len([m for m in sms.messages(learner.mobile) if "初始密码" in m["text"]]) == 1
    assert any("4,900.00" in m["text"] for m in sms.messages(learner.mobile))
    assert not sms.messages(again.data["mobile"])

    for event in sink.received:  # no password, hash or code travels on the broker
        body = json.dumps(event.data, default=str, ensure_ascii=False)
        assert learner.password not in body and GOOD not in body and "argon2" not in body
    assert learner.password not in caplog.text and GOOD not in caplog.text and "$argon2" not in caplog.text


def test_refresh_rotates_and_a_spent_token_revokes_its_family(identity, bus):
    learner = open_login(identity, bus)
    anonymous = identity.anonymous("identity")
    setup = log_in(anonymous, learner.id_number, learner.password).json()
    _bearer(identity, setup["access_token"]).put("/identity/me/password", {
        "current_password": learner.password, "new_password": GOOD})
    first = log_in(anonymous, learner.id_number, GOOD).json()

    rotated = anonymous.post("/identity/sessions/refresh", {"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 201 and rotated.json()["refresh_token"] != first["refresh_token"]
    newer = anonymous.post("/identity/sessions/refresh", {"refresh_token": rotated.json()["refresh_token"]})
    assert newer.status_code == 201

    reused = anonymous.post("/identity/sessions/refresh", {"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    # The whole family is gone: the newest token of the thief or the owner no longer works.
    assert anonymous.post("/identity/sessions/refresh",
                          {"refresh_token": newer.json()["refresh_token"]}).status_code == 401
    admin = identity.client("identity", "admin")
    kinds = [e["kind"] for e in admin.get("/identity/audit", params={"account_id": first["account_id"]}).json()["items"]]
    assert "refresh-reuse" in kinds

    other = log_in(anonymous, learner.id_number, GOOD).json()
    assert anonymous.post("/identity/sessions/logout", {"refresh_token": other["refresh_token"]}).status_code == 204
    assert anonymous.post("/identity/sessions/refresh", {"refresh_token": other["refresh_token"]}).status_code == 401
    assert anonymous.post("/identity/sessions/refresh", {"refresh_token": "x" * 43}).status_code == 401


def test_failed_logins_wait_longer_per_account_and_per_client(identity, bus):
    learner = open_login(identity, bus)
    anonymous = identity.anonymous("identity")
    for _ in range(5):
        assert log_in(anonymous, learner.id_number, "wrong-password-1").status_code == 403
    locked = log_in(anonymous, learner.id_number, learner.password)  # the right one, refused unchecked
    assert locked.status_code == 429 and 25 <= locked.json()["retry_after"] <= 31, locked.text

    engine = make_engine(identity.database_urls["identity"])
    with engine.begin() as conn:  # the 30 s wait has passed
        conn.execute(update(Account).where(Account.learner_id == uuid.UUID(learner.learner_id))
                     .values(last_failure_at=utcnow() - timedelta(seconds=31)))
    assert log_in(anonymous, learner.id_number, "wrong-password-2").status_code == 403
    again = log_in(anonymous, learner.id_number, learner.password)
    assert again.status_code == 429 and again.json()["retry_after"] > 31  # the 7th failure waits 60 s

    with engine.begin() as conn:
        conn.execute(update(Account).values(last_failure_at=utcnow() - timedelta(seconds=61)))
    assert log_in(anonymous, learner.id_number, learner.password).status_code == 201  # and the count is cleared
    assert log_in(anonymous, learner.id_number, "wrong-password-3").status_code == 403

    # One client trying many logins: after 20 failures it waits, whatever login it tries.
    with engine.begin() as conn:
        conn.execute(update(ClientFailures).values(failures=19, last_failure_at=utcnow()))
    assert log_in(anonymous, "nobody.here", "whatever-1234").status_code == 403
    blocked = log_in(anonymous, learner.id_number, learner.password)
    assert blocked.status_code == 429
    engine.dispose()

    trail = identity.client("identity", "admin").get("/identity/audit", params={"limit": 500}).json()["items"]
    kinds = {e["kind"] for e in trail}
    assert {"login-failed", "login-throttled", "login-setup"} <= kinds
    assert not any(e["login"] and FULL_ID.search(e["login"]) for e in trail), "the audit shows a full ID number"


def test_a_forgotten_password_is_reset_by_a_one_time_code(identity, bus, caplog):
    caplog.set_level(logging.DEBUG)
    learner = open_login(identity, bus)
    anonymous = identity.anonymous("identity")
    sms = SmsOutbox(identity.workdir / "sms.jsonl")
    assert log_in(anonymous, learner.id_number, learner.password).status_code == 201  # the channel is verified

    assert anonymous.post("/identity/password-resets", {"login": learner.id_number}).status_code == 202
    assert anonymous.post("/identity/password-resets", {"login": "360402199001010000"}).status_code == 202
    code = reset_code(sms.expect(learner.mobile, "验证码")["text"])
    wrong = "000000" if code != "000000" else "111111"
    refused = anonymous.post("/identity/password-resets/confirmation",
                             {"login": learner.id_number, "code": wrong, "new_password": GOOD})
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/invalid-code"
    weak = anonymous.post("/identity/password-resets/confirmation",
                          {"login": learner.id_number, "code": code, "new_password": "password"})
    assert weak.status_code == 422 and weak.json()["type"] == "/problems/weak-password"
    done = anonymous.post("/identity/password-resets/confirmation",
                          {"login": learner.id_number, "code": code, "new_password": GOOD})
    assert done.status_code == 204, done.text
    assert anonymous.post("/identity/password-resets/confirmation", {
        "login": learner.id_number, "code": code, "new_password": GOOD + "x"}).status_code == 422  # once only
    session = log_in(anonymous, learner.id_number, GOOD)
    assert session.status_code == 201 and session.json()["setup"] == []
    assert code not in caplog.text and GOOD not in caplog.text and learner.password not in caplog.text


def test_a_learner_whose_account_expired_still_logs_in_to_see_results(identity, bus):
    from datetime import date, datetime, timezone

    from shared.contracts import new_event
    from shared.contracts.learning import AccountExpired
    learner = open_login(identity, bus)
    eid = uuid.UUID(learner.enrolled.data["enrollment_id"])
    bus.publish(new_event(AccountExpired, {
        "account_id": uuid.uuid4(), "enrollment_id": eid, "learner_id": uuid.UUID(learner.learner_id),
        "valid_until": date(2027, 2, 28), "coursework_complete": True,
        "expired_at": datetime.now(timezone.utc)}, correlation_id=eid))
    SmsOutbox(identity.workdir / "sms.jsonl").expect(learner.mobile, "已于2027年2月28日到期")
    answer = log_in(identity.anonymous("identity"), learner.id_number, learner.password)
    assert answer.status_code == 201 and answer.json()["role"] == "learner"
