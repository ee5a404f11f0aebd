"""One learner carried through the running services over HTTP, as the program's
people would do it: a base operator enrolls, the payment provider notifies, the
learner studies and sits the exam, an examiner marks, anyone verifies.

With `People` (identity running, the notices' sinks readable) everyone logs in for
real: the administrator with password and second factor; the base operator and the
examiner with the initial password their e-mail brought, changed at first login; the
learner with the initial password the SMS brought, changed likewise. Without it
(the lifecycle benchmark, which measures the five domain services) development
tokens stand in.

The services are called directly, each at its own URL. When the gateway exists the
journey calls it instead: `Services` then holds the gateway's URL for every service
(routing is by path prefix), and nothing else changes.

Used by `make demo`, the end-to-end test and the lifecycle benchmark."""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import uuid
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import requests

from shared.identity import check_character, mask
from shared.tokens import mint

from .candidate import correct_answers

SURNAMES, GIVEN = "王李张刘陈杨赵黄周吴", ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "杰"]


def random_id_number(rng: random.Random) -> str:
    born = date(1975, 1, 1) + timedelta(days=rng.randrange(30 * 365))
    first17 = f"360402{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + check_character(first17)


class JourneyError(Exception):
    pass


@dataclass
class Services:
    enrollment: str
    billing: str
    learning: str
    exam: str
    certificate: str
    identity: str | None = None


@dataclass
class People:
    """What real logins need: the administrator's credentials (made by `make admin`)
    and where the notices arrive (the SMTP sink's mail, the SMS sink's file)."""
    admin_login: str | None        # None: a development token stands in for the administrator
    admin_password: str | None
    admin_totp_secret: str | None
    mail: Callable[[str, str], str | None]   # (address, words) -> the text, once it arrived
    sms: Callable[[str, str], str | None]


_INITIAL = re.compile(r"初始密码：([A-Za-z0-9]+)。")


@dataclass
class Journey:
    urls: Services
    private_key: bytes
    qr_secret: str  # the wechat_pay provider's secret, as billing is configured
    base_code: str = "DEMO-BASE"
    timeout: float = 60.0
    log: object = None
    steps: list = field(default_factory=list)
    people: People | None = None

    def __post_init__(self):
        self.http = requests.Session()
        self.rng = random.Random()
        self.logins: dict[str, str] = {}

    # -- plumbing -------------------------------------------------------------

    def _token(self, role, **claims):
        if self.people is not None and role == "admin":
            return self._admin()
        return mint(self.private_key, role, **claims)

    # -- logging in for real -----------------------------------------------------

    def _log_in(self, login, password, **extra) -> dict:
        return self._call("POST", f"{self.urls.identity}/identity/sessions",
                          json={"login": login, "password": password, **extra}).json()

    def _first_login(self, login, initial) -> str:
        """The initial password may only be changed; then a real session."""
        setup = self._log_in(login, initial)
        new = f"Lvse-{self.rng.randrange(10 ** 8):08d}-Ditan"
        self._call("PUT", f"{self.urls.identity}/identity/me/password", setup["access_token"],
                   json={"current_password": initial, "new_password": new})
        return self._log_in(login, new)["access_token"]

    def _admin(self) -> str:
        if self.people.admin_login is None:  # `make demo` where another administrator exists
            return mint(self.private_key, "admin")
        if "admin" not in self.logins:
            import pyotp
            p = self.people
            totp = pyotp.TOTP(p.admin_totp_secret)
            session = self._until("the administrator's login", lambda: self._log_in_admin(
                p.admin_login, p.admin_password, totp))
            self.logins["admin"] = session["access_token"]
        return self.logins["admin"]

    def _log_in_admin(self, login, password, totp):
        # A code works once: a second administrator login in the same 30 s takes the next one.
        for offset in (0, 1):
            code = totp.generate_otp(totp.timecode(datetime.now(timezone.utc)) + offset)
            answer = self._call("POST", f"{self.urls.identity}/identity/sessions", expect=(201, 403),
                                json={"login": login, "password": password, "totp": code})
            if answer.status_code == 201:
                return answer.json()
        return None

    def _staff(self, role, login, **extra) -> str:
        """An administrator creates the account; its initial password comes by e-mail."""
        email = f"{login}@{self.base_code.lower()}.example.cn"
        self._call("POST", f"{self.urls.identity}/identity/staff", self._admin(),
                   json={"login_name": login, "display_name": login, "role": role, "email": email, **extra})
        text = self._until(f"{login}'s e-mail", lambda: self.people.mail(email, "初始密码"))
        token = self._first_login(login, _INITIAL.search(text).group(1))
        self._say(f"{role} {login} logged in with the password from the e-mail, changed at first login")
        return token

    def _operator(self) -> str:
        if self.people is None:
            return self._token("base_operator", base=self.base_code)
        return self._staff("base_operator", f"op.{self.rng.randrange(10 ** 8):08d}", base_code=self.base_code)

    def _examiner(self) -> str:
        if self.people is None:
            return self._token("examiner")
        return self._staff("examiner", f"exam.{self.rng.randrange(10 ** 8):08d}")

    def _learner(self, learner_id, id_number, mobile) -> str:
        if self.people is None:
            return self._token("learner", subject=learner_id)
        text = self._until("the learner's SMS", lambda: self.people.sms(mobile, "初始密码"))
        token = self._first_login(id_number, _INITIAL.search(text).group(1))
        self._say(f"learner logged in as {mask(id_number)} with the password from the SMS, changed it")
        return token

    def _call(self, method, url, token=None, expect=(200, 201, 204), **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        answer = self.http.request(method, url, headers=headers, timeout=30, **kwargs)
        if answer.status_code not in expect:
            raise JourneyError(f"{method} {url} -> {answer.status_code}: {answer.text[:500]}")
        return answer

    def _until(self, what, attempt):
        """Poll the services' state until `attempt` returns something (events are asynchronous)."""
        deadline = time.monotonic() + self.timeout
        while True:
            found = attempt()
            if found:
                return found
            if time.monotonic() > deadline:
                raise JourneyError(f"gave up waiting for {what}")
            time.sleep(0.05)

    def _say(self, text):
        self.steps.append((datetime.now(timezone.utc), text))
        if self.log:
            self.log(text)

    # -- the journey --------------------------------------------------------------

    def ensure_base(self):
        admin = self._token("admin")
        found = self._call("GET", f"{self.urls.enrollment}/enrollment/bases/{self.base_code}", admin,
                            expect=(200, 404))
        if found.status_code == 404:
            today = datetime.now(timezone.utc).date()
            self._call("POST", f"{self.urls.enrollment}/enrollment/bases", admin, json={
                "code": self.base_code, "name": "示范碳排放管理培训基地",
                "contact": "演示联系人 010-00000000",
                "authorized_from": (today - timedelta(days=30)).isoformat(),
                "authorized_until": (today + timedelta(days=730)).isoformat()}, expect=(201, 409))

    def run(self) -> dict:
        u = self.urls
        operator = self._operator()
        name = self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, 2))
        id_number, mobile = random_id_number(self.rng), f"139{self.rng.randrange(10 ** 8):08d}"
        enrollment = self._call("POST", f"{u.enrollment}/enrollment/enrollments", operator, json={
            "full_name": name, "id_number": id_number, "mobile": mobile,
            "level": "L4", "education": {"tier": "junior_college", "status": "graduated"},
            "related_work_months": 24, "sector": "power"}).json()
        eid, learner_id = enrollment["enrollment_id"], enrollment["learner_id"]
        self._say(f"enrolled {name} ({enrollment['id_number_masked']}) at {self.base_code}: {eid}")

        order = self._until("the order", lambda: self._ok(
            "GET", f"{u.billing}/billing/enrollments/{eid}/order", operator))
        self._say(f"order {order['order_id']}: {order['amount_display']} CNY, "
                  f"remark {order['payment_remark']}")
        body = json.dumps({"transaction_id": f"WX{uuid.uuid4().hex[:20]}", "order_id": order["order_id"],
                           "amount_fen": order["amount_fen"],
                           "paid_at": datetime.now(timezone.utc).isoformat()}).encode()
        signature = hmac.new(self.qr_secret.encode(), body, hashlib.sha256).hexdigest()
        paid = self._call("POST", f"{u.billing}/billing/payments/qr/wechat_pay", data=body,
                          headers={"X-Signature": f"sha256={signature}",
                                   "Content-Type": "application/json"}).json()
        if paid["settlement"] != "applied":
            raise JourneyError(f"payment not applied: {paid}")
        self._say("paid by WeChat Pay (signed notification)")
        learner = self._learner(learner_id, id_number, mobile)

        account = self._until("the learning account",
                              lambda: self._ok("GET", f"{u.learning}/learning/accounts/{eid}", learner))
        self._say(f"learning account valid {account['valid_from']} .. {account['valid_until']}, "
                  f"{len(account['courses'])} courses")
        # Sessions laid end to end (a learner's sessions never overlap); those that run
        # past now are credited through the development profile's study clock allowance
        # (LEARNING_STUDY_CLOCK_ALLOWANCE_MINUTES in deploy/dev.env; 2 minutes elsewhere).
        started = datetime.now(timezone.utc) - timedelta(minutes=1)
        for course in account["courses"]:
            left = course["minutes_required"] - course["minutes_studied"]
            while left > 0:
                minutes = min(left, 600)
                studied = self._call("POST", f"{u.learning}/learning/accounts/{eid}/progress", learner, json={
                    "session_id": uuid.uuid4().hex, "course_code": course["code"],
                    "started_at": started.isoformat(), "minutes": minutes}).json()
                if studied["refused_minutes"]:
                    raise JourneyError(f"study refused: {studied['refusal_reason']} (is the learning "
                                       "service in the development profile, deploy/dev.env?)")
                left -= minutes
                started += timedelta(minutes=minutes)
        self._say("studied every required course")

        admin = self._token("admin")
        now = datetime.now(timezone.utc)
        sitting = self._call("POST", f"{u.exam}/exam/sittings", admin, json={
            "starts_at": (now - timedelta(seconds=5)).isoformat(), "level": "both", "capacity": 1000,
            "registration_closes_at": (now + timedelta(minutes=60)).isoformat()}).json()
        registration = self._until("exam registration (coursework complete)", lambda: self._ok(
            "POST", f"{u.exam}/exam/registrations", learner,
            json={"enrollment_id": eid, "sitting_id": sitting["sitting_id"]}, wait_on=(422,)))
        self._say(f"registered for a make-up sitting at {sitting['starts_at']}, attempt "
                  f"{registration['attempt_number']}")
        paper = self._call("GET", f"{u.exam}/exam/registrations/{registration['registration_id']}/paper",
                           learner).json()
        for number, answer in correct_answers(paper).items():
            self._call("PUT", f"{u.exam}/exam/papers/{paper['paper_id']}/answers/{number}", learner,
                       json={"answer": answer})
        self._call("POST", f"{u.exam}/exam/papers/{paper['paper_id']}/submit", learner)
        self._say("answered 100 questions and submitted")
        examiner = self._examiner()
        queue = self._call("GET", f"{u.exam}/exam/marking", examiner,
                           params={"sitting_id": sitting["sitting_id"]}).json()
        for item in [i for i in queue["items"] if i["paper_id"] == paper["paper_id"]]:
            self._call("POST", f"{u.exam}/exam/marking/{item['paper_id']}/{item['number']}", examiner,
                       json={"points": item["max_points"], "comment": "要点齐全"})
        result = self._call("GET", f"{u.exam}/exam/registrations/{registration['registration_id']}/result",
                            learner).json()
        self._say(f"marked: score {result['score']}, passed {result['passed']}")

        certificate = self._until("the certificate", lambda: self._ok(
            "GET", f"{u.certificate}/certificate/enrollments/{eid}/certificate", learner))
        verified = self._call("GET", f"{u.certificate}/certificate/verify",
                              params={"number": certificate["number"], "name": name}).json()
        self._say(f"certificate {certificate['number']} verified: {verified['status']}")
        final = self._until("enrollment to show certified", lambda: (
            e := self._ok("GET", f"{u.enrollment}/enrollment/enrollments/{eid}", operator))
            and e["status"] == "certified" and e)
        outcome = {"enrollment": final, "certificate": certificate, "verified": verified,
                   "result": result, "name": name, "mobile": mobile, "notices": []}
        if self.people is not None:
            outcome["notices"] = self._until("the certificate's notice", lambda: (
                n := self._call("GET", f"{u.identity}/identity/me/notices", learner).json()["items"])
                and any(x["kind"] == "certificate-issued" and x["state"] == "delivered" for x in n) and n)
        return outcome

    def _ok(self, method, url, token, wait_on=(404,), **kwargs):
        answer = self._call(method, url, token, expect=(200, 201) + tuple(wait_on), **kwargs)
        return answer.json() if answer.status_code in (200, 201) else None

    def trail(self, enrollment_id: str) -> list[dict]:
        """Every event of the journey, as each service recorded it."""
        operator = mint(self.private_key, "operator")
        steps = []
        names = (("enrollment", "billing", "learning", "exam", "certificate")
                 + (("identity",) if self.urls.identity else ()))
        for name in names:
            answer = self._call("GET", f"{getattr(self.urls, name)}/{name}/journeys/{enrollment_id}",
                                operator, expect=(200, 404))
            if answer.status_code == 200:
                steps += answer.json()["steps"]
        return steps


def requests_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


def read_sms(path) -> list[dict]:
    """What the SMS development sink would have sent, oldest first."""
    from pathlib import Path
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _demo_people(local, console) -> People:
    """A demonstration administrator, made once like `make admin` and remembered in
    var/demo/admin.json; where another administrator exists, a development token."""
    import secrets as random_secrets
    import warnings

    from .mailsink import read as read_mail
    with warnings.catch_warnings():  # the identity database's engine imports eventlet
        warnings.filterwarnings("ignore", message=r"\s+Eventlet is deprecated")
        from services.identity.admin import AdminExists, create_first_admin
    saved = local.VAR / "demo" / "admin.json"
    if saved.exists():
        admin = json.loads(saved.read_text())
    else:
        password = f"Demo-{random_secrets.token_urlsafe(12)}"
        try:
            made = create_first_admin(local.database_url("identity"), "demo.admin", "演示管理员", password)
            admin = {"login": made["login_name"], "password": password, "totp_secret": made["totp_secret"]}
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(json.dumps(admin))
            saved.chmod(0o600)
        except AdminExists:
            console.print("[yellow]An administrator exists (make admin) and the demo does not know its "
                          "password: a development admin token creates the staff accounts.[/]")
            admin = {"login": None, "password": None, "totp_secret": None}
    return People(admin["login"], admin["password"], admin["totp_secret"],
                  mail=lambda to, words: next((m.text for m in read_mail(local.VAR / "mail")
                                               if m.to == to and words in m.text), None),
                  sms=lambda to, words: next((m["text"] for m in read_sms(local.VAR / "sms" / "outbox.jsonl")
                                              if m["to"] == to and words in m["text"]), None))


def demo() -> int:
    """`make demo`: one learner through the services `make run` started, logging in for real."""
    import os
    from rich.console import Console
    from rich.table import Table

    from . import local
    from .__main__ import print_journey
    from .operator import journey_rows

    console = Console(width=max(Console().width, 110))
    gateway = local.local_gateway()
    through_gateway = requests_ok(gateway.health_url)
    domain = ("enrollment", "billing", "learning", "exam", "certificate")
    urls = Services(*((gateway.url if through_gateway else local.url_of(s)) for s in domain),
                    identity=gateway.url if through_gateway else local.url_of("identity"))
    secret = dict(p.split(":", 1) for p in os.environ["BILLING_QR_PROVIDER_SECRETS"].split(","))["wechat_pay"]
    private_key = (local.VAR / "keys" / "jwt-private.pem").read_bytes()
    try:
        for s in local.SERVICES:
            requests.get(local.url_of(s) + "/health/ready", timeout=3).raise_for_status()
    except requests.RequestException:
        console.print("[red]The services are not running: `make run` first.[/]")
        return 1
    console.print(f"Through the gateway at {gateway.url}" if through_gateway else
                  "The gateway does not answer: calling each service on its own port")
    journey = Journey(urls, private_key, secret, log=lambda s: console.print(f"  • {s}"),
                      people=_demo_people(local, console))
    started = time.monotonic()
    journey.ensure_base()
    outcome = journey.run()
    eid = outcome["enrollment"]["enrollment_id"]
    console.print(f"\n[bold]Journey of {outcome['name']}[/] (enrollment {eid}), "
                  f"{time.monotonic() - started:.1f} s:")
    steps = journey._until("the last event to be recorded", lambda: (
        t := journey.trail(eid)) and any(s["type"] == "certificate.issued" and s["direction"] == "handled"
                                         for s in t) and t)
    print_journey(journey_rows(steps))
    v = outcome["verified"]
    console.print(f"\n[bold green]Verified certificate[/] {v['number']}: {v['status']} — {v['holder_name']}, "
                  f"{v['level']}, issued {v['issued_on']} by {v['base_name']}, ID {v['id_number_masked']}")
    console.print(f"Public page: {outcome['certificate']['verify_url']}")
    table = Table(title=f"what {outcome['name']} was told (GET /identity/me/notices)")
    for column in ("kind", "channel", "to", "state", "text"):
        table.add_column(column, overflow="fold")
    for n in sorted(outcome["notices"], key=lambda n: n["created_at"]):
        table.add_row(n["kind"], n["channel"] or "-", n["address_masked"] or "-", n["state"], n["text"])
    console.print(table)
    console.print("The messages as sent: var/sms/outbox.jsonl (SMS), var/mail (e-mail, a Maildir).")
    return 0
