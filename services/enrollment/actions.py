"""What enrollment does, one function per action or event, over a transaction.

Each loads what it needs, asks the pure domain, and records the outcome (rows,
status history, outgoing events) in the caller's transaction."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from shared.calendar import program_date
from shared.contracts import enrollment as events
from shared.errors import Conflict, NotFound, RuleViolation
from shared.messaging.consumer import Defer

from . import domain
from shared import identity
from .domain.eligibility import Applicant, Education, HeldCertificate, assess
from .domain.lifecycle import Status, advance
from .models import Enrollment, Learner, RegisteredCertificate, StatusChange, TrainingBase


class NotEligible(RuleViolation):
    slug = "not-eligible"
    title = "The applicant is not eligible for this level"


class OpenEnrollmentExists(Conflict):
    slug = "open-enrollment-exists"
    title = "The learner already has an open enrollment for this level"


def register_base(tx, body: dict, now: datetime) -> TrainingBase:
    if tx.session.get(TrainingBase, body["code"]) is not None:
        raise Conflict(f"training base {body['code']} is already registered")
    base = TrainingBase(**body, suspended=False, registered_at=now)
    tx.session.add(base)
    return base


def find_base(session, code: str) -> TrainingBase:
    base = session.get(TrainingBase, code)
    if base is None:
        raise NotFound(f"no training base {code}")
    return base


def submit_application(tx, base_code: str, application: dict, id_key: bytes, operator: str,
                       now: datetime) -> Enrollment:
    session, today = tx.session, program_date(now)
    base = session.get(TrainingBase, base_code)
    domain.check_base_may_enroll(base, today)
    id_number = identity.parse_id_number(application["id_number"], today)
    mobile = identity.validate_mobile(application["mobile"])
    id_hash = identity.keyed_hash(id_number.value, id_key)
    learner_id = identity.learner_id_for(id_hash)
    level = application["level"]

    for other in session.scalars(select(Enrollment).where(
            Enrollment.learner_id == learner_id, Enrollment.level == level)):
        if other.status == Status.CERTIFIED.value:
            raise Conflict(f"the learner already holds the {level} certificate "
                           f"{other.certificate_number}", enrollment_id=str(other.enrollment_id))
        if Status(other.status) not in (Status.CANCELLED, Status.REFUNDED, Status.EXPIRED):
            raise OpenEnrollmentExists(f"the learner already has an open {level} enrollment "
                                       f"(status {other.status})",
                                       enrollment_id=str(other.enrollment_id))

    certificates = [HeldCertificate(c.certificate_number, c.level, c.issued_on)
                    for c in session.scalars(select(RegisteredCertificate)
                                             .where(RegisteredCertificate.id_number_hash == id_hash))]
    applicant = Applicant(level=level, education=Education(**application["education"]),
                          related_work_months=application["related_work_months"],
                          work_months_since_l4=application["work_months_since_l4"])
    failed = assess(applicant, certificates, today)
    if failed:
        raise NotEligible(f"the applicant is not eligible for {level}: "
                          + " ".join(f.message for f in failed),
                          rules=[f.as_dict() for f in failed])

    learner = session.get(Learner, learner_id)
    if learner is None:
        learner = Learner(learner_id=learner_id, id_number_hash=id_hash,
                          id_number_masked=id_number.masked, full_name=application["full_name"],
                          mobile=mobile)
        session.add(learner)
    else:  # the latest application carries the current contact details
        learner.full_name, learner.mobile = application["full_name"], mobile
    session.flush()  # the learner row before the enrollment that refers to it

    enrollment_id = uuid.uuid4()
    enrollment = Enrollment(
        enrollment_id=enrollment_id, learner_id=learner_id, base_code=base.code, level=level,
        status=Status.SUBMITTED.value, full_name=application["full_name"],
        education_tier=application["education"]["tier"],
        education_status=application["education"]["status"],
        related_work_months=application["related_work_months"],
        work_months_since_l4=application["work_months_since_l4"], sector=application["sector"],
        invoice_title=application.get("invoice_title"), submitted_at=now, updated_at=now,
        exam_attempts=0)
    session.add(enrollment)
    session.add(StatusChange(enrollment_id=enrollment_id, from_status=None,
                             to_status=Status.SUBMITTED.value, cause="application",
                             cause_id=operator, at=now))
    # The enrollment id is the journey's correlation id, from here to the certificate.
    tx.emit(events.Enrolled, {
        "enrollment_id": enrollment_id, "learner_id": learner_id, "level": level,
        "full_name": application["full_name"], "id_number_hash": id_hash,
        "id_number_masked": id_number.masked, "base_code": base.code, "base_name": base.name,
        "enrolled_on": today, "enrolled_at": now,
    }, correlation_id=enrollment_id)
    return enrollment


# -- reading, with who may see what --------------------------------------------

def visible_enrollment(session, enrollment_id, principal) -> Enrollment:
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or not _may_see(enrollment, principal):
        raise NotFound(f"no enrollment {enrollment_id}")
    return enrollment


def _may_see(enrollment: Enrollment, principal) -> bool:
    if principal.role == "base_operator":
        return enrollment.base_code == principal.base
    if principal.role == "learner":
        return str(enrollment.learner_id) == principal.subject
    return principal.role in ("admin", "operator")


def list_enrollments(session, principal, query: dict) -> tuple[list[Enrollment], int]:
    stmt = select(Enrollment)
    if principal.role == "base_operator":
        stmt = stmt.where(Enrollment.base_code == principal.base)
    elif principal.role == "learner":
        stmt = stmt.where(Enrollment.learner_id == uuid.UUID(principal.subject))
    if query.get("status"):
        stmt = stmt.where(Enrollment.status == query["status"])
    if query.get("level"):
        stmt = stmt.where(Enrollment.level == query["level"])
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Enrollment.submitted_at.desc())
                           .limit(query["limit"]).offset(query["offset"])).all()
    return rows, total


def view(session, enrollment: Enrollment) -> dict:
    learner = session.get(Learner, enrollment.learner_id)
    history = session.scalars(select(StatusChange).where(
        StatusChange.enrollment_id == enrollment.enrollment_id).order_by(StatusChange.id)).all()
    return {**{c.key: getattr(enrollment, c.key) for c in Enrollment.__table__.columns},
            "id_number_masked": learner.id_number_masked,
            "mobile_masked": identity.mask_mobile(learner.mobile),
            "history": history}


# -- what the other services report ------------------------------------------

def _enrollment_for(tx, event) -> Enrollment:
    enrollment = tx.session.get(Enrollment, event.data["enrollment_id"])
    if enrollment is None:
        raise Defer(f"enrollment {event.data['enrollment_id']} is not known here (yet)")
    return enrollment


def _move(tx, enrollment: Enrollment, target: Status, event) -> None:
    new = advance(Status(enrollment.status), target)
    if new is None:
        return
    tx.session.add(StatusChange(enrollment_id=enrollment.enrollment_id,
                                from_status=enrollment.status, to_status=new.value,
                                cause=event.type, cause_id=str(event.id), at=event.occurred_at))
    enrollment.status = new.value
    enrollment.updated_at = event.occurred_at


def on_order_opened(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    enrollment.order_id = event.data["order_id"]
    enrollment.amount_due_fen = event.data["amount_fen"]
    _move(tx, enrollment, Status.AWAITING_PAYMENT, event)


def on_paid(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    enrollment.paid_at = event.data["paid_at"]
    _move(tx, enrollment, Status.ACTIVE, event)


def on_account_opened(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    enrollment.account_valid_until = event.data["valid_until"]


def on_course_completed(tx, event) -> None:
    _move(tx, _enrollment_for(tx, event), Status.COURSEWORK_COMPLETE, event)


def on_graded(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    if event.data["attempt_number"] >= enrollment.exam_attempts:
        enrollment.exam_attempts = event.data["attempt_number"]
        enrollment.exam_score = str(event.data["score"])
    if event.data["passed"]:
        _move(tx, enrollment, Status.EXAM_PASSED, event)


def on_certificate_issued(tx, event) -> None:
    data = event.data
    if tx.session.get(RegisteredCertificate, data["certificate_number"]) is None:
        tx.session.add(RegisteredCertificate(
            certificate_number=data["certificate_number"], id_number_hash=data["id_number_hash"],
            level=data["level"], issued_on=data["issued_on"], enrollment_id=data["enrollment_id"]))
    enrollment = tx.session.get(Enrollment, data["enrollment_id"])
    if enrollment is not None:
        enrollment.certificate_number = data["certificate_number"]
        _move(tx, enrollment, Status.CERTIFIED, event)
