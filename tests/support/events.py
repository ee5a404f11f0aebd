"""Events as their producers would emit them, for tests that play a producer: one
builder per contract, the only place tests build events.

`of` names the enrollment an event is about: an `enrollment.enrolled` event, or an
enrollment as enrollment's API answered it (a dict with enrollment_id, learner_id
and level). The event carries its enrollment id as correlation id, as the producers'
do."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from shared.contracts import new_event
from shared.contracts.billing import OrderOpened, Paid, Refunded
from shared.contracts.certificate import Issued, Reissued, Revoked
from shared.contracts.enrollment import Cancelled, Enrolled
from shared.contracts.exam import Graded, RetakeRequired, SittingChanged
from shared.contracts.learning import AccountExpired, AccountExtended, CourseCompleted, StudyStarted


def _now():
    return datetime.now(timezone.utc)


def _data(of) -> dict:
    return of.data if hasattr(of, "data") else of


def _ids(of) -> dict:
    data = _data(of)
    return {"enrollment_id": uuid.UUID(str(data["enrollment_id"])),
            "learner_id": uuid.UUID(str(data["learner_id"]))}


def _event(contract, of, data, occurred_at=None):
    ids = _ids(of)
    return new_event(contract, {**ids, **data}, correlation_id=ids["enrollment_id"],
                     occurred_at=occurred_at)


def elsewhere(level="L4") -> dict:
    """An enrollment no service saw (a certificate from before enrollment's records)."""
    return {"enrollment_id": uuid.uuid4(), "learner_id": uuid.uuid4(), "level": level}


# -- enrollment ------------------------------------------------------------------

def enrolled(full_name="张三", level="L4", enrollment_id=None, learner_id=None, base_code="B001"):
    enrollment_id = enrollment_id or uuid.uuid4()
    return new_event(Enrolled, {
        "enrollment_id": enrollment_id, "learner_id": learner_id or uuid.uuid4(), "level": level,
        "full_name": full_name, "id_number_hash": uuid.uuid4().hex * 2,
        "id_number_masked": "3604**********0071", "base_code": base_code,
        "base_name": "江西碳排放培训基地", "enrolled_on": date.today(),
        "enrolled_at": _now()}, correlation_id=enrollment_id)


def cancelled(of, reason="the learner withdrew"):
    data = _data(of)
    return _event(Cancelled, of, {"level": data["level"], "base_code": data["base_code"],
                                  "reason": reason, "cancelled_at": _now()})


# -- billing ---------------------------------------------------------------------

def order_opened(of, amount_fen=390000):
    return _event(OrderOpened, of, {"order_id": uuid.uuid4(), "level": _data(of)["level"],
                                    "amount_fen": amount_fen, "payment_remark": "张三—碳排放管理员",
                                    "opened_at": _now()})


def paid(of, paid_at=None, amount_fen=390000):
    return _event(Paid, of, {"order_id": uuid.uuid4(), "amount_fen": amount_fen,
                             "channel": "wechat_pay", "payment_reference": uuid.uuid4().hex,
                             "paid_at": paid_at or _now()})


def paid_on(of, activated_at: datetime):
    """`billing.paid` as billing would have emitted it at `activated_at` (a learning
    account's validity runs from then)."""
    return _event(Paid, of, {"order_id": uuid.uuid4(), "amount_fen": 390000, "channel": "wechat_pay",
                             "payment_reference": uuid.uuid4().hex, "paid_at": activated_at},
                  occurred_at=activated_at)


def refunded(of, reason="the learner withdrew", override=False, amount_fen=390000):
    return _event(Refunded, of, {"order_id": uuid.uuid4(), "amount_fen": amount_fen,
                                 "reason": reason, "administrator_override": override,
                                 "refunded_at": _now()})


# -- learning --------------------------------------------------------------------

def study_started(of):
    return _event(StudyStarted, of, {"account_id": uuid.uuid4(), "started_at": _now()})


def course_completed(of, level=None):
    return _event(CourseCompleted, of, {"account_id": uuid.uuid4(), "level": level or _data(of)["level"],
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


# -- exam ------------------------------------------------------------------------

def graded(of, score="82.5", attempt=1, level=None):
    return _event(Graded, of, {"attempt_id": uuid.uuid4(), "level": level or _data(of)["level"],
                               "sitting_id": uuid.uuid4(), "attempt_number": attempt,
                               "score": Decimal(score), "passed": Decimal(score) >= 60,
                               "graded_at": _now()})


def retake_required(of, attempt=3):
    return _event(RetakeRequired, of, {"level": _data(of)["level"], "attempt_number": attempt,
                                       "reason": "free_retake_used", "required_at": _now()})


def sitting_changed(of, change="moved", reason="the examination centre is closed"):
    before = _now() + timedelta(days=20)
    return _event(SittingChanged, of, {
        "registration_id": uuid.uuid4(), "sitting_id": uuid.uuid4(), "change": change,
        "starts_at": before + timedelta(days=7) if change == "moved" else None,
        "previous_starts_at": before, "reason": reason, "changed_at": _now()})


# -- certificate -----------------------------------------------------------------

def certificate_issued(of, id_number_hash: str, number: str, issued_on: date, level=None):
    return _event(Issued, of, {
        "certificate_id": uuid.uuid4(), "certificate_number": number, "level": level or _data(of)["level"],
        "holder_name": "张三", "id_number_hash": id_number_hash, "id_number_masked": "3604**********0071",
        "base_code": "B001", "issued_on": issued_on, "issued_at": _now()})


def certificate_reissued(of, id_number_hash: str, number: str, issued_on: date, serial=2,
                         level=None, reason="the ID number was mistyped"):
    return _event(Reissued, of, {
        "certificate_id": uuid.uuid4(), "certificate_number": number, "serial": serial,
        "superseded_certificate_id": uuid.uuid4(), "level": level or _data(of)["level"],
        "holder_name": "张三", "id_number_hash": id_number_hash,
        "id_number_masked": "3604**********0071", "issued_on": issued_on, "reason": reason,
        "reissued_at": _now()})


def certificate_revoked(of, id_number_hash: str, number: str, level=None, reason="forged work record"):
    return _event(Revoked, of, {
        "certificate_id": uuid.uuid4(), "certificate_number": number, "level": level or _data(of)["level"],
        "id_number_hash": id_number_hash, "reason": reason, "revoked_at": _now()})
