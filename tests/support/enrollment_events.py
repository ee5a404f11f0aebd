"""Events enrollment consumes, as their producers would emit them, for tests that
play billing, learning, exam or certificate. `of` is an enrollment as the API
answered it (a dict with enrollment_id, learner_id and level)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from shared.contracts import new_event
from shared.contracts.billing import OrderOpened, Paid, Refunded
from shared.contracts.certificate import Issued, Reissued, Revoked
from shared.contracts.exam import SittingChanged
from shared.contracts.learning import AccountExpired, AccountExtended, CourseCompleted


def _now():
    return datetime.now(timezone.utc)


def _ids(of) -> dict:
    return {"enrollment_id": uuid.UUID(str(of["enrollment_id"])),
            "learner_id": uuid.UUID(str(of["learner_id"]))}


def _event(contract, of, data):
    ids = _ids(of)
    return new_event(contract, {**ids, **data}, correlation_id=ids["enrollment_id"])


def order_opened(of, amount_fen=390000):
    return _event(OrderOpened, of, {"order_id": uuid.uuid4(), "level": of["level"],
                                    "amount_fen": amount_fen, "payment_remark": "张三—碳排放管理员",
                                    "opened_at": _now()})


def paid(of, amount_fen=390000):
    return _event(Paid, of, {"order_id": uuid.uuid4(), "amount_fen": amount_fen,
                             "channel": "wechat_pay", "payment_reference": uuid.uuid4().hex,
                             "paid_at": _now()})


def refunded(of, reason="the learner withdrew", override=False, amount_fen=390000):
    return _event(Refunded, of, {"order_id": uuid.uuid4(), "amount_fen": amount_fen,
                                 "reason": reason, "administrator_override": override,
                                 "refunded_at": _now()})


def course_completed(of):
    return _event(CourseCompleted, of, {"account_id": uuid.uuid4(), "level": of["level"],
                                        "catalog_version": "2026.1",
                                        "class_hours_by_category": {"foundation": 30},
                                        "total_class_hours": 85, "completed_at": _now()})


def account_expired(of, valid_until: date, coursework_complete: bool):
    return _event(AccountExpired, of, {"account_id": uuid.uuid4(), "valid_until": valid_until,
                                       "coursework_complete": coursework_complete,
                                       "expired_at": _now()})


def account_extended(of, previous: date, valid_until: date, reason="illness, certified"):
    return _event(AccountExtended, of, {"account_id": uuid.uuid4(), "previous_valid_until": previous,
                                        "valid_until": valid_until, "reason": reason,
                                        "extended_at": _now()})


def sitting_changed(of, change="moved", reason="the examination centre is closed"):
    before = _now() + timedelta(days=20)
    return _event(SittingChanged, of, {
        "registration_id": uuid.uuid4(), "sitting_id": uuid.uuid4(), "change": change,
        "starts_at": before + timedelta(days=7) if change == "moved" else None,
        "previous_starts_at": before, "reason": reason, "changed_at": _now()})


def certificate_issued(of, id_number_hash: str, number: str, issued_on: date, level=None):
    return _event(Issued, of, {
        "certificate_id": uuid.uuid4(), "certificate_number": number, "level": level or of["level"],
        "holder_name": "张三", "id_number_hash": id_number_hash, "id_number_masked": "3604**********0071",
        "base_code": "B001", "issued_on": issued_on, "issued_at": _now()})


def certificate_reissued(of, id_number_hash: str, number: str, issued_on: date, serial=2,
                         level=None, reason="the ID number was mistyped"):
    return _event(Reissued, of, {
        "certificate_id": uuid.uuid4(), "certificate_number": number, "serial": serial,
        "superseded_certificate_id": uuid.uuid4(), "level": level or of["level"],
        "holder_name": "张三", "id_number_hash": id_number_hash,
        "id_number_masked": "3604**********0071", "issued_on": issued_on, "reason": reason,
        "reissued_at": _now()})


def certificate_revoked(of, id_number_hash: str, number: str, level=None, reason="forged work record"):
    return _event(Revoked, of, {
        "certificate_id": uuid.uuid4(), "certificate_number": number, "level": level or of["level"],
        "id_number_hash": id_number_hash, "reason": reason, "revoked_at": _now()})


def elsewhere(level="L4") -> dict:
    """An enrollment this service never saw (a certificate from before its records)."""
    return {"enrollment_id": uuid.uuid4(), "learner_id": uuid.uuid4(), "level": level}
