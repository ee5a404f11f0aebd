"""Notices on the real broker and database: each event the learner or the base must
hear about becomes one notice (once per cause), in Chinese, with no full ID number;
a failing channel is retried with backoff; delivery state is visible to the
learner's base and to administrators; reminders before the account ends."""
import json
import re
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

from sqlalchemy import select, update

from services.identity.models import LearningValidity
from shared.calendar import program_date, utcnow
from shared.contracts import new_event
from shared.contracts.billing import Refunded
from shared.contracts.certificate import Issued
from shared.contracts.enrollment import RosterFinished
from shared.contracts.exam import Graded, Registered, SittingChanged
from shared.contracts.learning import AccountExpired, AccountOpened
from shared.persistence.engine import make_engine
from tests.support import events
from tests.support.identity_flow import enrolled, log_in, mobile, open_login
from tests.support.people import id_number
from tests.support.processes import free_port
from tests.support.sinks import MailSink, SmsOutbox, initial_password
from tests.support.wait import wait_for

FULL_ID = re.compile(r"[0-9]{17}[0-9X]")
NOW = datetime.now(timezone.utc)


def _common(learner):
    return {"enrollment_id": learner.enrolled.data["enrollment_id"], "learner_id": learner.learner_id}


def _event(schema, learner, data):
    return new_event(schema, {**_common(learner), **data}, correlation_id=uuid.UUID(learner.enrolled.data["enrollment_id"]))


def test_each_event_the_learner_must_hear_of_becomes_one_notice(services, bus):
    services.start("identity")
    learner = open_login(services, bus)
    sms = SmsOutbox(services.workdir / "sms.jsonl")
    starts = datetime(2026, 12, 26, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
    sitting = uuid.uuid4()
    told = [
        (_event(Registered, learner, {"registration_id": uuid.uuid4(), "sitting_id": sitting, "level": "L4",
                                      "attempt_number": 1, "starts_at": starts, "ends_at": starts + timedelta(minutes=90),
                                      "registered_at": NOW}), "2026年12月26日 09:00至10:30"),
        (_event(SittingChanged, learner, {"registration_id": uuid.uuid4(), "sitting_id": sitting, "change": "moved",
                                          "starts_at": starts + timedelta(days=1), "previous_starts_at": starts,
                                          "reason": "考点停电", "changed_at": NOW}), "调整至2026年12月27日 09:00"),
        (_event(SittingChanged, learner, {"registration_id": uuid.uuid4(), "sitting_id": sitting, "change": "released",
                                          "starts_at": None, "previous_starts_at": starts + timedelta(days=1),
                                          "reason": "场次取消", "changed_at": NOW}), "考试已取消"),
        (_event(Graded, learner, {"attempt_id": uuid.uuid4(), "level": "L4", "sitting_id": sitting,
                                  "attempt_number": 1, "score": Decimal("55.5"), "passed": False, "graded_at": NOW}),
         "55.5分，未通过（60分及格）。您有一次免费补考机会"),
        (_event(Graded, learner, {"attempt_id": uuid.uuid4(), "level": "L4", "sitting_id": sitting,
                                  "attempt_number": 2, "score": Decimal("88.0"), "passed": True, "graded_at": NOW}),
         "88.0分，已通过"),
        (_event(Issued, learner, {"certificate_id": uuid.uuid4(), "certificate_number": "CEA-L4-2026-000123-7",
                                  "level": "L4", "holder_name": "张三", "id_number_hash": "ab" * 32,
                                  "id_number_masked": "3604**********0071", "base_code": "B001",
                                  "issued_on": date.today(), "issued_at": NOW}),
         "证书编号CEA-L4-2026-000123-7。任何人可凭证书编号和姓名查验：http://verify.test/certificate/verify/page?number="),
        (_event(AccountExpired, learner, {"account_id": uuid.uuid4(), "valid_until": date(2027, 2, 28),
                                          "coursework_complete": True, "expired_at": NOW}), "已于2027年2月28日到期"),
        (_event(Refunded, learner, {"order_id": uuid.uuid4(), "amount_fen": 390000, "reason": "本人申请",
                                    "administrator_override": False, "refunded_at": NOW}), "已退款3,900.00元"),
    ]
    for event, _ in told:
        bus.publish(event)
    for _, words in told:
        sms.expect(learner.mobile, words)
    for event, _ in told:  # every event delivered again: nobody is told twice
        bus.publish(event)
    admin = services.client("identity", "admin")
    wait_for(lambda: len(admin.get("/identity/notices", params={"learner_id": learner.learner_id}).json()["items"]) == 10)
    texts = [m["text"] for m in sms.messages(learner.mobile)]
    assert len(texts) == 10  # login, payment, and the eight above, each once
    assert all(t.startswith("【碳排放管理员】") and not FULL_ID.search(t) for t in texts)
    assert learner.id_number not in json.dumps(sms.messages(), ensure_ascii=False)


def test_a_failing_mail_server_is_tried_again_until_it_takes_the_message(services, tmp_path):
    sink = MailSink(tmp_path / "late-mail")  # its port is chosen; nothing listens there yet
    services.start("identity", SMTP_PORT=sink.port, NOTICE_RETRY_SECONDS="0.5,1,2,4,8,8,8")
    admin = services.client("identity", "admin")
    created = admin.post("/identity/staff", {"login_name": "qin.b001", "display_name": "秦", "role": "base_operator",
                                             "base_code": "B001", "email": "qin@b001.cn"}).json()

    def notice():
        items = admin.get("/identity/notices", params={"kind": "staff-account-opened"}).json()["items"]
        return items[0] if items else None
    failing = wait_for(lambda: (n := notice()) and n["attempts"] >= 1 and n)
    assert failing["state"] == "pending" and "SMTP" in failing["last_error"] and failing["account_id"] == created["account_id"]
    try:
        sink.start()
        delivered = wait_for(lambda: (n := notice()) and n["state"] == "delivered" and n, timeout=30)
        assert delivered["attempts"] >= 2 and delivered["address_masked"] == "q***@b001.cn"
        assert len(sink.messages("qin@b001.cn")) == 1
    finally:
        sink.stop()


class _Provider(BaseHTTPRequestHandler):
    """An SMS provider's HTTP API stand-in: fails the first request, takes the rest."""
    received: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.headers["Authorization"], body))
        self.send_response(503 if len(self.received) == 1 else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_sms_goes_through_the_provider_adapter_and_is_retried(services, bus):
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), _Provider)
    _Provider.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        services.start("identity", SMS_PROVIDER="http", SMS_HTTP_URL=f"http://127.0.0.1:{port}/send",
                       SMS_HTTP_TOKEN="provider-key")
        phone = mobile()
        event = enrolled(id_number(), phone)
        bus.publish(event)
        bus.publish(events.paid(event))
        wait_for(lambda: len([b for _, b in _Provider.received if "初始密码" in b["text"]]) == 2)
        (auth, first), (_, again) = [(a, b) for a, b in _Provider.received if "初始密码" in b["text"]]
        assert auth == "Bearer provider-key" and first["to"] == phone and first["reference"] == again["reference"]
        admin = services.client("identity", "admin")
        state = wait_for(lambda: [n for n in admin.get("/identity/notices", params={"kind": "login-opened"}).json()["items"]
                                  if n["state"] == "delivered"])
        assert state[0]["attempts"] == 2
        # The password of the failed attempt was never delivered: a new one was made for the retry.
        assert initial_password(again["text"]) != initial_password(first["text"])
    finally:
        server.shutdown()


def test_a_learner_without_a_channel_is_on_record_as_not_told(services, bus):
    services.start("identity")
    sink = bus.sink("identity.notice-undeliverable")
    event = enrolled(id_number(), None)
    bus.publish(event)
    bus.publish(events.paid(event))
    undeliverable = sink.expect("identity.notice-undeliverable", where=lambda e: e.data["kind"] == "login-opened")
    assert undeliverable.data["attempts"] == 0 and "no mobile" in undeliverable.data["reason"]
    operator = services.client("identity", "base_operator", base="B001")
    items = operator.get("/identity/notices", params={"state": "undeliverable"}).json()["items"]
    assert {n["kind"] for n in items} == {"login-opened", "payment-received"}


def test_the_base_and_administrators_see_delivery_state_and_the_learner_reads_their_own(services, bus):
    services.start("identity")
    ours, theirs = open_login(services, bus, "B001"), open_login(services, bus, "B002")
    operator = services.client("identity", "base_operator", base="B001")
    wait_for(lambda: len(operator.get("/identity/notices").json()["items"]) == 2)
    seen = operator.get("/identity/notices").json()["items"]
    assert {n["learner_id"] for n in seen} == {ours.learner_id}
    assert all(n["state"] == "delivered" and n["address_masked"].count("*") == 4 and "text" not in n for n in seen)
    assert operator.get("/identity/notices", params={"base_code": "B002"}).json()["items"] == []
    assert operator.get("/identity/notices", params={"learner_id": theirs.learner_id}).json()["items"] == []
    admin = services.client("identity", "admin")
    assert {n["learner_id"] for n in admin.get("/identity/notices").json()["items"]} == {ours.learner_id, theirs.learner_id}

    session = log_in(services.anonymous("identity"), ours.id_number, ours.password).json()
    assert session["setup"] == ["password"]
    learner = services.client("identity", "learner", subject=ours.learner_id)
    answer = learner.get("/identity/me/notices")
    assert answer.status_code == 200, answer.text
    mine = answer.json()["items"]
    assert {n["kind"] for n in mine} == {"login-opened", "payment-received"}
    opened = next(n for n in mine if n["kind"] == "login-opened")
    assert "初始密码：******" in opened["text"] and ours.password not in json.dumps(mine, ensure_ascii=False)


def test_learners_are_reminded_before_their_account_ends(services, bus):
    services.start("identity", REMINDER_INTERVAL_SECONDS="0.2")
    learner = open_login(services, bus)
    today = program_date(utcnow())
    until = today + timedelta(days=31)  # the 30-day reminder falls due tomorrow at 09:00
    bus.publish(_event(AccountOpened, learner, {"account_id": uuid.uuid4(), "level": "L4", "catalog_version": "2026.1",
                                                "valid_from": today, "valid_until": until, "opened_at": NOW}))
    engine = make_engine(services.database_urls["identity"])
    eid = uuid.UUID(learner.enrolled.data["enrollment_id"])

    def scheduled():
        with engine.connect() as conn:
            return conn.execute(select(LearningValidity.next_reminder_days, LearningValidity.next_reminder_on)
                                .where(LearningValidity.enrollment_id == eid)).first()
    assert wait_for(scheduled) == (30, today + timedelta(days=1))
    with engine.begin() as conn:  # as if it fell due yesterday while the service was away
        conn.execute(update(LearningValidity).values(next_reminder_on=today - timedelta(days=1)))
    SmsOutbox(services.workdir / "sms.jsonl").expect(learner.mobile, "还有31天")
    assert wait_for(lambda: scheduled() == (7, until - timedelta(days=7)))
    engine.dispose()


def test_the_operator_who_uploaded_a_roster_is_told_it_finished(services, bus, mail_sink):
    services.start("identity", SMTP_PORT=mail_sink.port)
    admin = services.client("identity", "admin")
    uploader = admin.post("/identity/staff", {"login_name": "he.b001", "display_name": "何", "role": "base_operator",
                                              "base_code": "B001", "email": "he@b001.cn"}).json()
    admin.post("/identity/staff", {"login_name": "lv.b001", "display_name": "吕", "role": "base_operator",
                                   "base_code": "B001", "email": "lv@b001.cn"})
    upload_id = uuid.uuid4()
    bus.publish(new_event(RosterFinished, {"upload_id": upload_id, "base_code": "B001",
                                           "uploaded_by": uploader["account_id"], "rows": 120, "created": 117,
                                           "failed": 3, "finished_at": NOW}, correlation_id=upload_id))
    mail = mail_sink.expect("he@b001.cn", "批量报名名单")
    assert "共120行，成功117行，失败3行" in mail.text
    by_dev_token = uuid.uuid4()
    bus.publish(new_event(RosterFinished, {"upload_id": by_dev_token, "base_code": "B001", "uploaded_by": "dev-operator",
                                           "rows": 1, "created": 1, "failed": 0, "finished_at": NOW},
                          correlation_id=by_dev_token))
    mail_sink.expect("lv@b001.cn", "共1行")
    mail_sink.expect("he@b001.cn", "共1行")
