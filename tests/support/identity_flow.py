"""A learner's login opened as the producers would open it, and logging in over HTTP."""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timezone

import pyotp

from shared import identity as ids
from shared.contracts import new_event
from shared.contracts.enrollment import BaseAuthorizationChanged, Enrolled
from tests.support import events
from tests.support.people import id_number
from tests.support.services import TEST_SETTINGS
from tests.support.sinks import SmsOutbox, initial_password

ID_KEY = TEST_SETTINGS["ID_HASH_KEY"].encode()


def mobile() -> str:
    return f"139{random.randrange(10 ** 8):08d}"


def enrolled(number: str, phone: str | None, base_code: str = "B001", full_name: str = "张三", level: str = "L4",
             learner_id=None):
    """A new learner's enrollment (enrollment gives new people a random id), or a known
    learner's next one (`learner_id`: enrollment found them by the keyed hash)."""
    digest = ids.keyed_hash(number, ID_KEY)
    enrollment_id = uuid.uuid4()
    return new_event(Enrolled, {
        "enrollment_id": enrollment_id, "learner_id": learner_id or uuid.uuid4(), "level": level,
        "full_name": full_name, "id_number_hash": digest, "id_number_masked": ids.mask(number),
        "base_code": base_code, "base_name": "江西碳排放培训基地", "enrolled_on": date.today(),
        "enrolled_at": datetime.now(timezone.utc), "mobile": phone}, correlation_id=enrollment_id)


def base_changed(code: str, suspended: bool, action: str = "suspended"):
    return new_event(BaseAuthorizationChanged, {
        "base_code": code, "base_name": "江西碳排放培训基地", "action": action, "suspended": suspended,
        "authorized_from": date(2026, 1, 1), "authorized_until": date(2028, 12, 31),
        "reason": "test", "changed_at": datetime.now(timezone.utc)}, correlation_id=uuid.uuid4())


class Learner:
    def __init__(self, number, phone, enrolled_event, paid_event, password):
        self.id_number, self.mobile, self.enrolled, self.paid, self.password = \
            number, phone, enrolled_event, paid_event, password

    @property
    def learner_id(self) -> str:
        return str(self.enrolled.data["learner_id"])


def open_login(services, bus, base_code: str = "B001") -> Learner:
    """Enrolled and paid as enrollment and billing would say it; the initial password
    as the SMS sink received it."""
    number, phone = id_number(), mobile()
    event = enrolled(number, phone, base_code)
    payment = events.paid(event)
    bus.publish(event)
    bus.publish(payment)
    sms = SmsOutbox(services.workdir / "sms.jsonl").expect(phone, "初始密码")
    return Learner(number, phone, event, payment, initial_password(sms["text"]))


def log_in(client, login: str, password: str, **extra):
    return client.post("/identity/sessions", {"login": login, "password": password, **extra})


def totp(secret: str, offset: int = 0) -> str:
    t = pyotp.TOTP(secret)
    return t.generate_otp(t.timecode(datetime.now(timezone.utc)) + offset)
