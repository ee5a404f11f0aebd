"""Learners pushed through the whole program over HTTP while a fault runs.

Each learner is one thread doing what the program's people do — a base operator
enrolls, the provider notifies the payment, the learner studies, registers, writes
the paper and submits, an examiner marks, anyone verifies — and, as a real client
must while services die and come back, repeats a step whose answer was lost. Every
repeated step is safe to repeat (same session ids, same provider transaction, the
services answer a repeated creation with what was created).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests

from shared.ops.candidate import correct_answers
from shared.ops.journey import GIVEN, SURNAMES, random_id_number
from shared.tokens import mint

BASE = "CHAOS"


class Stuck(Exception):
    """The step did not succeed before the run's deadline."""


class Refused(Exception):
    """A service refused a step for good (a 4xx that retrying cannot change)."""


@dataclass
class Learner:
    index: int
    name: str = ""
    enrollment_id: str | None = None
    paid: bool = False
    certificate: str | None = None
    certified: bool = False
    failure: str | None = None
    steps: list = field(default_factory=list)


class Caller:
    """HTTP with the patience a real client needs during faults: connection errors,
    5xx and 429 are retried until the deadline; `wait_on` statuses mean "not yet"."""

    def __init__(self, deadline: float, stats: dict, lock: threading.Lock):
        self.session = requests.Session()
        self.deadline, self.stats, self.lock = deadline, stats, lock

    def __call__(self, method, url, token=None, ok=(200, 201), wait_on=(), **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        while True:
            try:
                answer = self.session.request(method, url, headers=headers, timeout=15, **kwargs)
                if answer.status_code in ok:
                    return answer
                if answer.status_code not in wait_on and answer.status_code < 500 \
                        and answer.status_code != 429:
                    raise Refused(f"{method} {url} -> {answer.status_code}: {answer.text[:300]}")
                if answer.status_code >= 500:
                    self._count(f"http {answer.status_code}")
            except requests.RequestException as exc:
                self._count(type(exc).__name__)
            if time.monotonic() > self.deadline:
                raise Stuck(f"{method} {url}")
            time.sleep(random.uniform(0.1, 0.4))  # a client's pause before trying again

    def _count(self, what):
        with self.lock:
            self.stats[what] = self.stats.get(what, 0) + 1


class Driver:
    def __init__(self, urls: dict, private_key: bytes, qr_secret: str, learners: int, deadline: float,
                 sitting_id: str, threads: int = 16, seed: int = 7):
        self.urls, self.private_key, self.qr_secret = urls, private_key, qr_secret
        self.learners = [Learner(i) for i in range(learners)]
        self.deadline, self.sitting_id, self.threads = deadline, sitting_id, threads
        self.rng = random.Random(seed)
        self.transport_errors: dict[str, int] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()

    def token(self, role, **claims):
        return mint(self.private_key, role, **claims)

    def run(self) -> list[Learner]:
        examiner = threading.Thread(target=self._mark, daemon=True)
        examiner.start()
        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(self._journey, self.learners))
        self.done.set()
        examiner.join(timeout=30)
        return self.learners

    # -- one learner ----------------------------------------------------------------

    def _journey(self, learner: Learner) -> None:
        call = Caller(self.deadline, self.transport_errors, self.lock)
        try:
            self._walk(learner, call)
        except (Stuck, Refused) as exc:
            learner.failure = f"{type(exc).__name__}: {exc}"

    def _walk(self, learner: Learner, call: Caller) -> None:
        u = self.urls
        with self.lock:
            learner.name = self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, 2))
            id_number = random_id_number(self.rng)
        operator = self.token("base_operator", base=BASE)
        answer = call("POST", f"{u['enrollment']}/enrollment/enrollments", operator, ok=(201, 409), json={
            "full_name": learner.name, "id_number": id_number, "mobile": "13800138000", "level": "L4",
            "education": {"tier": "junior_college", "status": "graduated"}, "related_work_months": 24,
            "sector": "power"})
        body = answer.json()
        if answer.status_code == 409 and not body.get("enrollment_id"):
            raise Refused(f"enrollment refused: {body}")
        eid = body["enrollment_id"]  # 409: the enrollment our lost answer created
        learner.enrollment_id = eid
        record = call("GET", f"{u['enrollment']}/enrollment/enrollments/{eid}", operator).json()
        learner_token = self.token("learner", subject=record["learner_id"])
        learner.steps.append("enrolled")

        order = call("GET", f"{u['billing']}/billing/enrollments/{eid}/order", learner_token, wait_on=(404,)).json()
        payment = json.dumps({"transaction_id": f"WX{uuid.UUID(eid).hex[:24]}", "order_id": order["order_id"],
                              "amount_fen": order["amount_fen"],
                              "paid_at": datetime.now(timezone.utc).isoformat()}).encode()
        signature = hmac.new(self.qr_secret.encode(), payment, hashlib.sha256).hexdigest()
        settled = call("POST", f"{u['billing']}/billing/payments/qr/wechat_pay", data=payment,
                       headers={"X-Signature": f"sha256={signature}", "Content-Type": "application/json"}).json()
        if settled["settlement"] not in ("applied", "duplicate"):
            raise Refused(f"payment settled as {settled}")
        learner.paid = True
        learner.steps.append("paid")

        account = call("GET", f"{u['learning']}/learning/accounts/{eid}", learner_token, wait_on=(404,)).json()
        started = datetime.now(timezone.utc) - timedelta(minutes=1)
        for course in account["courses"]:
            left, part = course["minutes_required"] - course["minutes_studied"], 0
            while left > 0:
                minutes = min(left, 600)
                call("POST", f"{u['learning']}/learning/accounts/{eid}/progress", learner_token, json={
                    "session_id": f"{eid}:{course['code']}:{part}", "course_code": course["code"],
                    "started_at": started.isoformat(), "minutes": minutes})
                left, part = left - minutes, part + 1
                started += timedelta(minutes=minutes)  # end to end: sessions never overlap
        learner.steps.append("studied")

        registration = call("POST", f"{u['exam']}/exam/registrations", learner_token, ok=(200, 201),
                            wait_on=(422,), json={"enrollment_id": eid, "sitting_id": self.sitting_id}).json()
        rid = registration["registration_id"]
        paper = call("GET", f"{u['exam']}/exam/registrations/{rid}/paper", learner_token).json()
        for number, value in correct_answers(paper).items():
            call("PUT", f"{u['exam']}/exam/papers/{paper['paper_id']}/answers/{number}", learner_token,
                 json={"answer": value})
        call("POST", f"{u['exam']}/exam/papers/{paper['paper_id']}/submit", learner_token, ok=(200, 409))
        learner.steps.append("sat the exam")

        certificate = call("GET", f"{u['certificate']}/certificate/enrollments/{eid}/certificate",
                           learner_token, wait_on=(404,)).json()
        learner.certificate = certificate["number"]
        verified = call("GET", f"{u['certificate']}/certificate/verify",
                        params={"number": certificate["number"], "name": learner.name}).json()
        if verified["status"] != "valid":
            raise Refused(f"verification says {verified['status']}")
        while call("GET", f"{u['enrollment']}/enrollment/enrollments/{eid}", operator).json()["status"] != "certified":
            if time.monotonic() > self.deadline:
                raise Stuck("enrollment never showed certified")
            time.sleep(0.3)  # polling the enrollment's state, as a base's screen would
        learner.certified = True
        learner.steps.append("certified")

    # -- the examiner ------------------------------------------------------------------

    def _mark(self) -> None:
        call = Caller(self.deadline, self.transport_errors, self.lock)
        examiner = self.token("examiner", subject="chaos-examiner")
        url = f"{self.urls['exam']}/exam/marking"
        while not self.done.is_set() and time.monotonic() < self.deadline:
            items = []
            try:
                items = call("GET", url, examiner, params={"sitting_id": self.sitting_id,
                                                            "limit": 200}).json()["items"]
                for item in items:
                    call("POST", f"{url}/{item['paper_id']}/{item['number']}", examiner, ok=(204, 409),
                         json={"points": item["max_points"], "comment": "要点齐全"})
            except (Stuck, Refused):
                pass
            if not items:
                time.sleep(0.5)  # nothing to mark yet


def prepare(urls: dict, private_key: bytes, learners: int, deadline: float) -> str:
    """The base and a sitting open now, as an administrator sets them up; the sitting id."""
    call = Caller(deadline, {}, threading.Lock())
    admin = mint(private_key, "admin")
    today = datetime.now(timezone.utc).date()
    call("POST", f"{urls['enrollment']}/enrollment/bases", admin, ok=(201, 409), json={
        "code": BASE, "name": "混沌测试培训基地", "contact": "运维 010-00000000",
        "authorized_from": (today - timedelta(days=30)).isoformat(),
        "authorized_until": (today + timedelta(days=730)).isoformat()})
    now = datetime.now(timezone.utc)
    sitting = call("POST", f"{urls['exam']}/exam/sittings", admin, json={
        "starts_at": (now - timedelta(seconds=5)).isoformat(), "level": "both", "capacity": learners + 10,
        "registration_closes_at": (now + timedelta(minutes=80)).isoformat()}).json()
    return sitting["sitting_id"]
