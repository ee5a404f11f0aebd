"""Learning's accounts through its handlers, called as written, in a real migrated
SQLite transaction: the database effect and the events emitted, no broker
(tests/support/actions_db.py). Delivery — an event overtaking another, redelivery —
stays with tests/integration/test_learning_*.py."""
import uuid
from datetime import timedelta

import pytest

from services.learning import actions
from services.learning.service import LearningService
from shared.calendar import utcnow
from services.learning.domain import ProgressRefused
from shared.messaging.consumer import Defer
from shared.tokens import Principal
from tests.support import events

ADMIN = Principal(subject="admin-1", role="admin", base=None)


def _opened(db, learning, enrolled=None):
    enrolled = enrolled or events.enrolled()
    db.handle(learning.record_learners, enrolled)
    # paid three days ago: a session that began minutes ago is never before the
    # account's first day, even just after midnight in Shanghai
    payment = events.paid_on(enrolled, utcnow() - timedelta(days=3))
    db.handle(learning.open_accounts, payment)
    return enrolled, payment


def _study(db, eid, learner_id, course, minutes):
    learner = Principal(subject=str(learner_id), role="learner", base=None)
    report = {"session_id": f"s-{utcnow().timestamp()}", "course_code": course,
              "started_at": utcnow() - timedelta(minutes=minutes), "minutes": minutes}
    with db.transaction() as tx:
        return actions.report_study(tx, eid, learner, report, actions.StudyRules(), now=utcnow())


def test_payment_opens_one_account_valid_six_months(actions_db):
    db, learning = actions_db("learning"), LearningService()
    enrolled, payment = _opened(db, learning)
    eid = uuid.UUID(enrolled.data["enrollment_id"])

    [opened] = db.emitted("learning.account-opened")
    assert opened.data["enrollment_id"] == eid and opened.data["catalog_version"] == "2026.1"
    assert opened.causation_id == payment.id and opened.correlation_id == eid
    with db.read() as session:
        account = actions.account_view(session, eid, ADMIN)
    assert account["status"] == "active" and account["valid_until"] == opened.data["valid_until"]
    assert len(account["courses"]) == 31 and not account["coursework_complete"]


def test_a_refund_closes_the_account_and_study_is_then_refused(actions_db):
    db, learning = actions_db("learning"), LearningService()
    enrolled, _ = _opened(db, learning)
    eid, learner_id = uuid.UUID(enrolled.data["enrollment_id"]), enrolled.data["learner_id"]
    assert _study(db, eid, learner_id, "F01", 10)["course_minutes"] == 10

    db.handle(learning.close_account, events.refunded(enrolled))
    with db.read() as session:
        account = actions.account_view(session, eid, ADMIN)
    assert account["status"] == "closed" and account["closed_at"]
    assert account["closed_reason"] == "refunded: the learner withdrew"
    with pytest.raises(ProgressRefused) as refused:
        _study(db, eid, learner_id, "F01", 10)
    assert refused.value.extra["rules"][0]["rule"] == "ACCOUNT_NOT_ACTIVE"


def test_a_refund_before_the_account_waits_for_it(actions_db):
    db, learning = actions_db("learning"), LearningService()
    enrolled = events.enrolled()
    with pytest.raises(Defer):
        db.handle(learning.close_account, events.refunded(enrolled))
    assert db.emitted() == []
