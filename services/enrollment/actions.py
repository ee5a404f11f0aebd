"""What enrollment does, one function per action or event, over a transaction.

Each loads what it needs, asks the pure domain, and records the outcome (rows,
status history, outgoing events) in the caller's transaction. Bulk enrollment
(bulk.py) runs the same `enroll` over chunks of rows."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from shared import identity
from shared.calendar import program_date
from shared.contracts import enrollment as events
from shared.errors import Conflict, NotFound, RuleViolation
from shared.messaging.consumer import Defer
from shared.web.pagination import fetch_page, page

from . import domain
from .domain.eligibility import Applicant, Education, HeldCertificate, assess, holds_level
from .domain.lifecycle import Status, advance, cancel, expires_with_account, is_open
from .models import (AuthorizationChange, Enrollment, Learner, RegisteredCertificate, StatusChange,
                     TrainingBase)


BASE_NAMESPACE = uuid.UUID("5b0c9f8e-3a1d-4e57-8c2b-7d61e0a4b002")


class NotEligible(RuleViolation):
    slug = "not-eligible"
    title = "The applicant is not eligible for this level"


class OpenEnrollmentExists(Conflict):
    slug = "open-enrollment-exists"
    title = "The learner already has an open enrollment for this level"


class EnrolledConcurrently(OpenEnrollmentExists):
    """A concurrent request enrolled the learner first: asked again, the request
    is answered as a repeat or refused naming that enrollment."""


class AlreadyCertified(Conflict):
    slug = "already-certified"
    title = "The learner already holds this level's certificate"


# -- training bases -----------------------------------------------------------------

class BaseExists(Conflict):
    slug = "base-exists"
    title = "A training base with this code is already registered"


def register_base(tx, body: dict, by: str, now: datetime) -> tuple[TrainingBase, bool]:
    """(the base, whether it is new): the same registration again answers the base."""
    found = tx.session.get(TrainingBase, body["code"])
    if found is not None:
        if domain.same_request(_columns(found), body, domain.BASE_FIELDS):
            return found, False
        raise BaseExists(f"training base {body['code']} is already registered with other details",
                         code=found.code)
    base = TrainingBase(**body, suspended=False, registered_at=now)
    tx.session.add(base)
    _record_authorization(tx, base, "registered", "registered", by, now)
    return base, True


def _columns(row) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def find_base(session, code: str) -> TrainingBase:
    base = session.get(TrainingBase, code)
    if base is None:
        raise NotFound(f"no training base {code}")
    return base


def suspend_base(tx, code: str, reason: str, by: str, now: datetime) -> TrainingBase:
    base = _base_for_update(tx, code)
    domain.check_may_suspend(base)
    base.suspended = True
    _record_authorization(tx, base, "suspended", reason, by, now)
    return base


def reinstate_base(tx, code: str, reason: str, by: str, now: datetime) -> TrainingBase:
    base = _base_for_update(tx, code)
    domain.check_may_reinstate(base)
    base.suspended = False
    _record_authorization(tx, base, "reinstated", reason, by, now)
    return base


def change_authorization_period(tx, code: str, body: dict, by: str, now: datetime) -> TrainingBase:
    base = _base_for_update(tx, code)
    base.authorized_from, base.authorized_until = body["authorized_from"], body["authorized_until"]
    _record_authorization(tx, base, "period_changed", body["reason"], by, now)
    return base


def _base_for_update(tx, code: str) -> TrainingBase:
    base = tx.session.get(TrainingBase, code, with_for_update=True)
    if base is None:
        raise NotFound(f"no training base {code}")
    return base


def _record_authorization(tx, base, action, reason, by, now) -> None:
    tx.session.add(AuthorizationChange(
        base_code=base.code, action=action, authorized_from=base.authorized_from,
        authorized_until=base.authorized_until, suspended=base.suspended, reason=reason,
        changed_by=by, at=now))
    tx.emit(events.BaseAuthorizationChanged, {
        "base_code": base.code, "base_name": base.name, "action": action, "suspended": base.suspended,
        "authorized_from": base.authorized_from, "authorized_until": base.authorized_until,
        "reason": reason, "changed_at": now}, correlation_id=base_journey(base.code))


def base_journey(code: str) -> uuid.UUID:
    """One correlation id per base, so that an operator traces a base's changes together."""
    return uuid.uuid5(BASE_NAMESPACE, code)


def list_bases(session, today, query: dict) -> dict:
    rows, total = fetch_page(session, select(TrainingBase).order_by(TrainingBase.code), query)
    return page([base_view(session, b, today) for b in rows], total, query)


def base_view(session, base: TrainingBase, today) -> dict:
    history = session.scalars(select(AuthorizationChange).where(
        AuthorizationChange.base_code == base.code).order_by(AuthorizationChange.id)).all()
    return {**{c.key: getattr(base, c.key) for c in TrainingBase.__table__.columns},
            "authorization": domain.authorization_state(base, today), "history": history}


# -- applications ---------------------------------------------------------------------

@dataclass(frozen=True)
class Prepared:
    """An application whose fields and identity are valid; eligibility comes next."""
    application: dict
    id_number: identity.IdNumber
    id_hash: str
    mobile: str


def prepare(application: dict, id_key: bytes, today) -> Prepared:
    """Identity checks, pure: raises InvalidIdNumber / InvalidInput naming the field."""
    id_number = identity.parse_id_number(application["id_number"], today)
    mobile = identity.validate_mobile(application["mobile"])
    id_hash = identity.keyed_hash(id_number.value, id_key)
    return Prepared(application, id_number, id_hash, mobile)


class Register:
    """What the checks of a batch of applications read, loaded in three queries:
    who the applicants are, their enrollments, and the registry's certificates for
    their ID hashes. It follows the enrollments the batch creates, so one file
    cannot enroll a learner twice either.

    A person known by their ID hash keeps their learner id; a new one gets a random
    id (docs/security.md): the id travels in every token and event, so it must not
    be computable from the ID number."""

    def __init__(self, session, applications: list[Prepared]):
        hashes = {p.id_hash for p in applications}
        rows = session.execute(select(Learner.id_number_hash, Learner.learner_id)
                               .where(Learner.id_number_hash.in_(hashes))).all() if hashes else []
        known = {id_hash: learner_id for id_hash, learner_id in rows}
        self.learner_ids = {h: known.get(h) or uuid.uuid4() for h in hashes}
        learner_ids = set(self.learner_ids.values())
        self.enrollments = defaultdict(list)
        self.certificates = defaultdict(list)
        self.learners: dict[uuid.UUID, dict] = {}
        self.created: list[dict] = []  # new enrollments, and their first history rows
        self.history: list[dict] = []
        if learner_ids:
            for e in session.scalars(select(Enrollment).where(Enrollment.learner_id.in_(learner_ids))):
                self.enrollments[(e.learner_id, e.level)].append(e)
            for c in session.scalars(select(RegisteredCertificate)
                                     .where(RegisteredCertificate.id_number_hash.in_(hashes))):
                self.certificates[c.id_number_hash].append(
                    HeldCertificate(c.certificate_number, c.level, c.issued_on, c.revoked))

    def write_learners(self, session) -> None:
        """One insert for the batch's new learners (identity only: contact details
        belong to each base's enrollment, so another base never rewrites them); a
        concurrent first enrollment of the same person does not fail on the row."""
        if not self.learners:
            return
        dialect = {"postgresql": postgresql, "sqlite": sqlite}[session.get_bind().dialect.name]
        # A person enrolled concurrently under another new id: the row is theirs, and
        # this batch's enrollments fail their foreign key (retried by a bulk upload).
        session.execute(dialect.insert(Learner).on_conflict_do_nothing(index_elements=[Learner.id_number_hash]),
                        list(self.learners.values()))
        self.learners.clear()


def enroll(tx, base: TrainingBase, p: Prepared, register: Register, operator: str,
           now: datetime) -> uuid.UUID:
    """Check the learner's other enrollments and eligibility, then record the
    enrollment in the register and emit `enrollment.enrolled`; `write_enrollments`
    writes what the register holds."""
    today, level, app = program_date(now), p.application["level"], p.application
    learner_id = register.learner_ids[p.id_hash]
    for other in register.enrollments[(learner_id, level)]:
        status = Status(other.status)
        # Another base's enrollment is named by neither id nor certificate number.
        ours = {"enrollment_id": str(other.enrollment_id)} if other.base_code == base.code else {}
        if status == Status.CERTIFIED and other.certificate_status != "revoked":
            raise AlreadyCertified(f"the learner already holds the {level} certificate", **ours)
        if is_open(status):
            where = f"status {other.status}" if ours else "at another training base"
            raise OpenEnrollmentExists(f"the learner already has an open {level} enrollment "
                                       f"({where})", **ours)
    if holds_level(register.certificates[p.id_hash], level):  # e.g. one imported from before this system
        raise AlreadyCertified(f"the learner already holds the {level} certificate")
    applicant = Applicant(level=level, education=Education(**app["education"]),
                          related_work_months=app["related_work_months"],
                          work_months_since_l4=app["work_months_since_l4"],
                          birth_date=p.id_number.birth_date)
    failed = assess(applicant, register.certificates[p.id_hash], today)
    if failed:
        raise NotEligible(f"the applicant is not eligible for {level}: "
                          + " ".join(f.message for f in failed), rules=[f.as_dict() for f in failed])

    register.learners[learner_id] = {
        "learner_id": learner_id, "id_number_hash": p.id_hash,
        "id_number_masked": p.id_number.masked}
    enrollment_id = uuid.uuid4()
    row = dict(
        enrollment_id=enrollment_id, learner_id=learner_id, base_code=base.code, level=level,
        status=Status.SUBMITTED.value, full_name=app["full_name"], mobile=p.mobile,
        education_tier=app["education"]["tier"], education_status=app["education"]["status"],
        related_work_months=app["related_work_months"],
        work_months_since_l4=app["work_months_since_l4"], sector=app["sector"],
        invoice_title=app.get("invoice_title"), submitted_at=now, updated_at=now, exam_attempts=0)
    register.created.append(row)
    register.history.append(dict(enrollment_id=enrollment_id, from_status=None,
                                 to_status=Status.SUBMITTED.value, cause="application",
                                 cause_id=operator[:64], at=now))
    register.enrollments[(learner_id, level)].append(SimpleNamespace(**row, certificate_status=None))
    # The enrollment id is the journey's correlation id, from here to the certificate.
    tx.emit(events.Enrolled, {
        "enrollment_id": enrollment_id, "learner_id": learner_id, "level": level,
        "full_name": app["full_name"], "id_number_hash": p.id_hash,
        "id_number_masked": p.id_number.masked, "base_code": base.code, "base_name": base.name,
        "enrolled_on": today, "enrolled_at": now, "mobile": p.mobile,
    }, correlation_id=enrollment_id)
    return enrollment_id


def submit_application(tx, base_code: str, application: dict, id_key: bytes, operator: str,
                       now: datetime) -> tuple[Enrollment, bool]:
    """(the enrollment, whether it is new). The same application again at the same
    base, while its enrollment is open, answers that enrollment (a lost response)."""
    base = tx.session.get(TrainingBase, base_code)
    domain.check_base_may_enroll(base, program_date(now))
    prepared = prepare(application, id_key, program_date(now))
    register = Register(tx.session, [prepared])
    asked = {**application, "mobile": prepared.mobile, "education_tier": application["education"]["tier"],
             "education_status": application["education"]["status"]}
    for other in register.enrollments[(register.learner_ids[prepared.id_hash], application["level"])]:
        if (other.base_code == base.code and is_open(Status(other.status))
                and domain.same_request(_columns(other), asked, domain.APPLICATION_FIELDS)):
            return other, False
    enrollment_id = enroll(tx, base, prepared, register, operator, now)
    write_enrollments(tx.session, register)
    return tx.session.get(Enrollment, enrollment_id), True


def write_enrollments(session, register: Register) -> None:
    """The batch's learners, enrollments and first history rows, one statement each
    (a bulk file's chunk is 500 of them). The partial unique index has the last
    word when a concurrent request enrolled the same learner and level."""
    session.flush()
    try:
        register.write_learners(session)
        if register.created:
            session.execute(insert(Enrollment), register.created)
            session.execute(insert(StatusChange), register.history)
    except IntegrityError as exc:
        if any(name in str(exc.orig).lower() for name in ("uq_open_enrollment", "enrollments.learner_id",
                                                          "enrollments_learner_id_fkey", "foreign key")):
            raise EnrolledConcurrently("the learner already has an open enrollment for this "
                                       "level (enrolled concurrently)") from None
        raise
    register.created, register.history = [], []


# -- the base's and administrator's actions on an enrollment ---------------------------

def cancel_enrollment(tx, enrollment_id, principal, reason: str, now: datetime) -> Enrollment:
    enrollment = visible_enrollment(tx.session, enrollment_id, principal, for_update=True)
    new = cancel(Status(enrollment.status))
    tx.session.add(StatusChange(enrollment_id=enrollment.enrollment_id, from_status=enrollment.status,
                                to_status=new.value, cause=f"cancelled by {principal.role}",
                                cause_id=principal.subject[:64], at=now, note=reason))
    enrollment.status, enrollment.updated_at = new.value, now
    tx.emit(events.Cancelled, {
        "enrollment_id": enrollment.enrollment_id, "learner_id": enrollment.learner_id,
        "level": enrollment.level, "base_code": enrollment.base_code, "reason": reason,
        "cancelled_at": now}, correlation_id=enrollment.enrollment_id)
    return enrollment


def change_contact(tx, enrollment_id, principal, body: dict, now: datetime) -> Enrollment:
    """The base corrects the contact details of its own enrollment (an administrator
    may too); recorded in the history with who and what, masked."""
    enrollment = visible_enrollment(tx.session, enrollment_id, principal, for_update=True)
    mobile = identity.validate_mobile(body["mobile"])
    if mobile == enrollment.mobile:
        return enrollment
    change = (f"mobile {identity.mask_mobile(enrollment.mobile)} -> {identity.mask_mobile(mobile)} "
              f"by {principal.subject}: {body['reason']}")
    tx.session.add(StatusChange(enrollment_id=enrollment.enrollment_id, from_status=enrollment.status,
                                to_status=enrollment.status, cause=f"contact changed by {principal.role}",
                                cause_id=principal.subject[:64], at=now, note=change[:1000]))
    enrollment.mobile, enrollment.updated_at = mobile, now
    return enrollment


# -- reading, with who may see what --------------------------------------------

def visible_enrollment(session, enrollment_id, principal, for_update: bool = False) -> Enrollment:
    enrollment = session.get(Enrollment, enrollment_id, with_for_update=for_update or None)
    if enrollment is None or not _may_see(enrollment, principal):
        raise NotFound(f"no enrollment {enrollment_id}")
    return enrollment


def _may_see(enrollment: Enrollment, principal) -> bool:
    if principal.role == "base_operator":
        return enrollment.base_code == principal.base
    if principal.role == "learner":
        return str(enrollment.learner_id) == principal.subject
    return principal.role == "admin"


def list_enrollments(session, principal, query: dict) -> dict:
    stmt = select(Enrollment)
    if principal.role == "base_operator":
        stmt = stmt.where(Enrollment.base_code == principal.base)
    elif principal.role == "learner":
        stmt = stmt.where(Enrollment.learner_id == uuid.UUID(principal.subject))
    if query.get("status"):
        stmt = stmt.where(Enrollment.status == query["status"])
    if query.get("level"):
        stmt = stmt.where(Enrollment.level == query["level"])
    rows, total = fetch_page(session, stmt.order_by(Enrollment.submitted_at.desc(), Enrollment.enrollment_id),
                             query)
    return page([view(session, e) for e in rows], total, query)


def view(session, enrollment: Enrollment) -> dict:
    learner = session.get(Learner, enrollment.learner_id)
    history = session.scalars(select(StatusChange).where(
        StatusChange.enrollment_id == enrollment.enrollment_id).order_by(StatusChange.id)).all()
    return {**{c.key: getattr(enrollment, c.key) for c in Enrollment.__table__.columns},
            "id_number_masked": learner.id_number_masked,
            "mobile_masked": identity.mask_mobile(enrollment.mobile),
            "history": history}


# -- what the other services report ------------------------------------------

def _enrollment_for(tx, event) -> Enrollment:
    enrollment = tx.session.get(Enrollment, event.data["enrollment_id"], with_for_update=True)
    if enrollment is None:
        raise Defer(f"enrollment {event.data['enrollment_id']} is not known here (yet)")
    return enrollment


def _move(tx, enrollment: Enrollment, target: Status, event, note: str | None = None) -> bool:
    new = advance(Status(enrollment.status), target)
    if new is None:
        return False
    _history(tx, enrollment, event, new, note)
    return True


def _history(tx, enrollment: Enrollment, event, new: Status | None = None, note: str | None = None):
    """Record a move (new status) or a note the base should see (no move)."""
    to = (new or Status(enrollment.status)).value
    tx.session.add(StatusChange(enrollment_id=enrollment.enrollment_id, from_status=enrollment.status,
                                to_status=to, cause=event.type, cause_id=str(event.id),
                                at=event.occurred_at, note=note and note[:1000]))
    enrollment.status = to
    enrollment.updated_at = event.occurred_at


def on_order_opened(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    enrollment.order_id = event.data["order_id"]
    enrollment.amount_due_fen = event.data["amount_fen"]
    _move(tx, enrollment, Status.AWAITING_PAYMENT, event)


def on_paid(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    enrollment.paid_at = event.data["paid_at"]
    if enrollment.status == Status.CANCELLED.value:
        _history(tx, enrollment, event, note="a payment arrived after the cancellation; the "
                 "finance office holds it as a refund due")
        return
    _move(tx, enrollment, Status.ACTIVE, event)


def on_refunded(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    note = f"refunded {event.data['amount_fen']} fen: {event.data['reason']}"
    if event.data["administrator_override"]:
        note += " (administrator override: study had begun)"
    if not _move(tx, enrollment, Status.REFUNDED, event, note):
        _history(tx, enrollment, event, note=note)


def on_account_opened(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    enrollment.account_valid_until = event.data["valid_until"]


def on_account_expired(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    valid_until = event.data["valid_until"]
    if enrollment.account_valid_until and valid_until < enrollment.account_valid_until:
        _history(tx, enrollment, event, note=f"a stale expiry (valid until {valid_until}) after "
                 f"an extension to {enrollment.account_valid_until}: ignored")
        return
    enrollment.account_valid_until = valid_until
    if expires_with_account(Status(enrollment.status), event.data["coursework_complete"]):
        _move(tx, enrollment, Status.EXPIRED, event,
              note=f"the learning account expired on {valid_until} before the coursework was complete")
    elif enrollment.status == Status.COURSEWORK_COMPLETE.value or event.data["coursework_complete"]:
        _history(tx, enrollment, event, note=f"the learning account expired on {valid_until}; the "
                 "coursework is complete, so the learner keeps the right to sit the exam")
    else:
        _history(tx, enrollment, event, note=f"the learning account expired on {valid_until}")


def on_account_extended(tx, event) -> None:
    """An administrator's extension; one made after the expiry reopens the enrollment
    (unless the learner has enrolled again for the level meanwhile)."""
    enrollment = _enrollment_for(tx, event)
    data = event.data
    note = (f"the learning account was extended from {data['previous_valid_until']} to "
            f"{data['valid_until']}: {data['reason']}")
    current = enrollment.account_valid_until
    if current is not None and data["valid_until"] <= current:
        _history(tx, enrollment, event, note=note + " (already recorded)")
        return
    enrollment.account_valid_until = data["valid_until"]
    if enrollment.status == Status.EXPIRED.value and not _other_open(tx.session, enrollment):
        _history(tx, enrollment, event, Status.ACTIVE, note=note + "; the enrollment is active again")
    else:
        _history(tx, enrollment, event, note=note)


def _other_open(session, enrollment: Enrollment) -> bool:
    return any(is_open(Status(e.status)) for e in session.scalars(select(Enrollment).where(
        Enrollment.learner_id == enrollment.learner_id, Enrollment.level == enrollment.level,
        Enrollment.enrollment_id != enrollment.enrollment_id)))


def on_course_completed(tx, event) -> None:
    _move(tx, _enrollment_for(tx, event), Status.COURSEWORK_COMPLETE, event)


def on_graded(tx, event) -> None:
    enrollment = _enrollment_for(tx, event)
    if event.data["attempt_number"] >= enrollment.exam_attempts:
        enrollment.exam_attempts = event.data["attempt_number"]
        enrollment.exam_score = str(event.data["score"])
    if event.data["passed"]:
        _move(tx, enrollment, Status.EXAM_PASSED, event)


def on_sitting_changed(tx, event) -> None:
    data = event.data
    if data["change"] == "moved":
        note = (f"the exam sitting moved from {data['previous_starts_at'].isoformat()} to "
                f"{data['starts_at'].isoformat()}: {data['reason']}")
    else:
        note = (f"the exam sitting of {data['previous_starts_at'].isoformat()} was cancelled; the "
                f"learner registers again (the attempt is not used): {data['reason']}")
    _history(tx, _enrollment_for(tx, event), event, note=note)


def on_certificate_issued(tx, event) -> None:
    data = event.data
    if tx.session.get(RegisteredCertificate, data["certificate_number"]) is None:
        tx.session.add(RegisteredCertificate(
            certificate_number=data["certificate_number"], id_number_hash=data["id_number_hash"],
            level=data["level"], issued_on=data["issued_on"], enrollment_id=data["enrollment_id"],
            serial=1, revoked=False))
    enrollment = tx.session.get(Enrollment, data["enrollment_id"])
    if enrollment is not None:
        enrollment.certificate_number = data["certificate_number"]
        if enrollment.certificate_status is None:  # a reissue or revocation may have come first
            enrollment.certificate_status, enrollment.certificate_serial = "valid", 1
        _move(tx, enrollment, Status.CERTIFIED, event)


def on_certificate_imported(tx, event) -> None:
    """A certificate issued before this system, imported: the L3 rule counts it
    exactly like an issued one (it has no enrollment here)."""
    data = event.data
    if tx.session.get(RegisteredCertificate, data["certificate_number"]) is None:
        tx.session.add(RegisteredCertificate(
            certificate_number=data["certificate_number"], id_number_hash=data["id_number_hash"],
            level=data["level"], issued_on=data["issued_on"], enrollment_id=None, serial=1, revoked=False))


def _enrollment_of_certificate(tx, data):
    """The enrollment a certificate was issued for; None for an imported one."""
    return tx.session.get(Enrollment, data["enrollment_id"]) if data["enrollment_id"] else None


def on_certificate_reissued(tx, event) -> None:
    """A correction: the projection follows the newest serial (its ID hash may have
    been corrected, so the L3 route finds it under the right person)."""
    data = event.data
    row = tx.session.get(RegisteredCertificate, data["certificate_number"])
    if row is None:
        row = RegisteredCertificate(certificate_number=data["certificate_number"], serial=0,
                                    revoked=False, enrollment_id=data["enrollment_id"])
        tx.session.add(row)
    if data["serial"] > row.serial:
        row.serial, row.id_number_hash = data["serial"], data["id_number_hash"]
        row.level, row.issued_on = data["level"], data["issued_on"]
    enrollment = _enrollment_of_certificate(tx, data)
    if enrollment is None:
        return
    if data["serial"] > (enrollment.certificate_serial or 0):
        enrollment.certificate_number, enrollment.certificate_serial = data["certificate_number"], data["serial"]
        enrollment.certificate_status = "revoked" if row.revoked else "valid"
    _history(tx, enrollment, event, note=f"certificate {data['certificate_number']} reissued as "
             f"serial {data['serial']}: {data['reason']}")


def on_certificate_revoked(tx, event) -> None:
    data = event.data
    row = tx.session.get(RegisteredCertificate, data["certificate_number"])
    if row is None:
        raise Defer(f"certificate {data['certificate_number']} is not known here (yet)")
    row.revoked = True
    enrollment = _enrollment_of_certificate(tx, data)
    if enrollment is not None:
        enrollment.certificate_status = "revoked"
        _history(tx, enrollment, event, note=f"certificate {data['certificate_number']} revoked: "
                 f"{data['reason']}")
