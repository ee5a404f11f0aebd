"""Enrollment's reactions to billing's events through its handlers, called as
written, on its migrated SQLite database (tests/support/actions_db.py); delivery
stays with tests/integration/test_enrollment_events.py."""
from shared.calendar import utcnow
from services.enrollment import actions, schemas
from services.enrollment.service import EnrollmentService
from tests.support import enrollment_people as applicants
from tests.support import events, people
from tests.support.services import TEST_SETTINGS


def _enroll(db) -> dict:
    """A base and one enrollment at it, as the API would record them; its view."""
    now = utcnow()
    with db.transaction() as tx:
        actions.register_base(tx, schemas.BaseRegistration().load(people.base("B001")), "admin-1", now)
    with db.transaction() as tx:
        body = schemas.Application().load(applicants.application())
        enrollment, _ = actions.submit_application(tx, "B001", body, TEST_SETTINGS["ID_HASH_KEY"].encode(),
                                                   "operator-1", now)
        return actions.view(tx.session, enrollment)


def _status(db, enrollment_id) -> dict:
    with db.read() as session:
        return actions.view(session, session.get(actions.Enrollment, enrollment_id))


def test_a_refund_marks_a_paid_enrollment_refunded(actions_db):
    db = actions_db("enrollment")
    enrollment = EnrollmentService()
    e = _enroll(db)
    assert len(db.emitted("enrollment.enrolled")) == 1
    db.handle(enrollment.on_order_opened, events.order_opened(e))
    db.handle(enrollment.on_paid, events.paid(e))
    assert _status(db, e["enrollment_id"])["status"] == "active"

    db.handle(enrollment.on_refunded, events.refunded(e, reason="the learner moved abroad"))
    view = _status(db, e["enrollment_id"])
    last = view["history"][-1]
    assert view["status"] == "refunded"
    assert (last.from_status, last.cause) == ("active", "billing.refunded")
    assert "the learner moved abroad" in last.note
