"""Events as their producers would emit them, for tests that play a producer."""
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from shared.contracts import new_event
from shared.contracts.billing import Paid
from shared.contracts.enrollment import Enrolled
from shared.contracts.exam import Graded
from shared.contracts.learning import CourseCompleted


def enrolled(full_name="张三", level="L4", enrollment_id=None, learner_id=None, base_code="B001"):
    enrollment_id = enrollment_id or uuid.uuid4()
    return new_event(Enrolled, {
        "enrollment_id": enrollment_id, "learner_id": learner_id or uuid.uuid4(), "level": level,
        "full_name": full_name, "id_number_hash": uuid.uuid4().hex * 2,
        "id_number_masked": "3604**********0071", "base_code": base_code,
        "base_name": "江西碳排放培训基地", "enrolled_on": date.today(),
        "enrolled_at": datetime.now(timezone.utc)}, correlation_id=enrollment_id)


def _ids(of):
    return uuid.UUID(of.data["enrollment_id"]), uuid.UUID(of.data["learner_id"])


def paid(of, paid_at=None, amount_fen=390000):
    enrollment_id, learner_id = _ids(of)
    return new_event(Paid, {
        "order_id": uuid.uuid4(), "enrollment_id": enrollment_id, "learner_id": learner_id,
        "amount_fen": amount_fen, "channel": "wechat_pay", "payment_reference": uuid.uuid4().hex,
        "paid_at": paid_at or datetime.now(timezone.utc)}, correlation_id=enrollment_id)


def course_completed(of, level="L4"):
    enrollment_id, learner_id = _ids(of)
    return new_event(CourseCompleted, {
        "account_id": uuid.uuid4(), "enrollment_id": enrollment_id, "learner_id": learner_id,
        "level": level, "catalog_version": "2026.1", "class_hours_by_category": {"foundation": 30},
        "total_class_hours": 85, "completed_at": datetime.now(timezone.utc)}, correlation_id=enrollment_id)


def graded(of, score="82.5", attempt=1, level="L4"):
    enrollment_id, learner_id = _ids(of)
    return new_event(Graded, {
        "attempt_id": uuid.uuid4(), "enrollment_id": enrollment_id, "learner_id": learner_id,
        "level": level, "sitting_id": uuid.uuid4(), "attempt_number": attempt, "score": Decimal(score),
        "passed": Decimal(score) >= 60, "graded_at": datetime.now(timezone.utc)}, correlation_id=enrollment_id)
