"""Identity's reactions to the other services' events: what it learns (learners,
bases, accounts' validity), the learner's login opened on payment, and the notices
each event asks for (one per cause: the event id and the notice's kind)."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select, update

from shared import identity as ids
from shared.calendar import program_date
from shared.contracts import identity as events
from shared.errors import InvalidInput
from shared.messaging.consumer import Defer

from ..domain import notices as wording
from ..models import Account, Base, Learner, LearnerEnrollment, LearningValidity, RefreshToken, RoleGrant
from . import audit, notices


def _mobile(raw: str | None) -> str | None:
    try:
        return ids.validate_mobile(raw) if raw else None
    except InvalidInput:
        return None


# -- what identity learns ---------------------------------------------------------------

def record_learner(tx, event) -> None:
    """enrollment.enrolled: the learner, and which base enrolled them (for the base's
    view of notices). The mobile is the latest given; an open login keeps its own."""
    d, session = event.data, tx.session
    mobile = _mobile(d.get("mobile"))
    learner = session.get(Learner, d["learner_id"])
    if learner is None:
        session.add(Learner(learner_id=d["learner_id"], id_number_hash=d["id_number_hash"],
                            id_number_masked=d["id_number_masked"], full_name=d["full_name"], mobile=mobile))
    else:
        learner.full_name, learner.id_number_masked = d["full_name"], d["id_number_masked"]
        learner.mobile = mobile or learner.mobile
    if session.get(LearnerEnrollment, d["enrollment_id"]) is None:
        session.add(LearnerEnrollment(enrollment_id=d["enrollment_id"], learner_id=d["learner_id"], level=d["level"],
                                      base_code=d["base_code"], base_name=d["base_name"], mobile=mobile))


def record_base(tx, event) -> None:
    """A suspended base's operators can neither log in nor refresh; their sessions
    end now, and access tokens already out expire within their lifetime."""
    d, session = event.data, tx.session
    base = session.get(Base, d["base_code"], with_for_update=True)
    if base is not None and base.changed_at > d["changed_at"]:
        return  # an older change arriving late
    if base is None:
        base = Base(base_code=d["base_code"])
        session.add(base)
    base.base_name, base.suspended, base.changed_at = d["base_name"], d["suspended"], d["changed_at"]
    if d["suspended"]:
        operators = select(RoleGrant.account_id).where(RoleGrant.role == "base_operator",
                                                       RoleGrant.base_code == d["base_code"])
        session.execute(update(RefreshToken).where(RefreshToken.account_id.in_(operators),
                                                   RefreshToken.base_code == d["base_code"],
                                                   RefreshToken.revoked_at.is_(None))
                        .values(revoked_at=d["changed_at"], revoked_because="base suspended"))
        audit.record(session, "base-suspended", d["changed_at"], actor="enrollment",
                     detail=f"base {d['base_code']}: its operators' sessions revoked")


def _enrollment(session, enrollment_id) -> tuple[LearnerEnrollment, Learner]:
    enrollment = session.get(LearnerEnrollment, enrollment_id)
    if enrollment is None:
        raise Defer(f"enrollment {enrollment_id} not yet known here (enrollment.enrolled)")
    return enrollment, session.get(Learner, enrollment.learner_id)


def login_of(session, learner_id) -> Account | None:
    return session.scalar(select(Account).where(Account.learner_id == learner_id))


def tell_learner(tx, event, kind: str, enrollment_id, values: dict, now: datetime, cause: str | None = None):
    enrollment, learner = _enrollment(tx.session, enrollment_id)
    return notices.make(tx, kind, cause or f"{event.id}:{kind}", correlation_id=event.correlation_id, now=now,
                        values={"full_name": learner.full_name, **values},
                        account=login_of(tx.session, learner.learner_id), learner=learner,
                        enrollment_id=enrollment.enrollment_id, base_code=enrollment.base_code)


# -- payment: the login, and the learner is told -------------------------------------------

def open_login(tx, event, now: datetime) -> None:
    """billing.paid opens the learner's login (once per learner: a second enrollment
    keeps it) with the mobile of the paid enrollment; its initial password goes out
    as a notice."""
    d, session = event.data, tx.session
    enrollment, learner = _enrollment(session, d["enrollment_id"])
    account = login_of(session, learner.learner_id)
    if account is None:
        account = Account(account_id=uuid.uuid4(), kind="learner", learner_id=learner.learner_id,
                          display_name=learner.full_name, must_change_password=True,
                          mobile=enrollment.mobile or learner.mobile, failed_logins=0, created_at=now,
                          created_by="billing.paid")
        session.add(account)
        session.flush()
        tx.emit(events.LoginOpened, {"account_id": account.account_id, "learner_id": learner.learner_id,
                                     "enrollment_id": enrollment.enrollment_id, "opened_at": now})
        audit.record(session, "login-opened", now, account_id=account.account_id,
                     login=learner.id_number_masked, actor="billing.paid")
        notices.make(tx, "login-opened", f"{event.id}:login-opened", correlation_id=event.correlation_id,
                     now=now, account=account, learner=learner, enrollment_id=enrollment.enrollment_id,
                     base_code=enrollment.base_code,
                     values={"full_name": learner.full_name, "id_number_masked": learner.id_number_masked})
    tell_learner(tx, event, "payment-received", enrollment.enrollment_id, now=now, values={
        "level_name": wording.LEVEL_NAMES[enrollment.level], "amount": wording.yuan(d["amount_fen"]),
        "channel_name": wording.PAYMENT_CHANNELS[d["channel"]]})


def tell_refunded(tx, event, now: datetime) -> None:
    d = event.data
    enrollment, _ = _enrollment(tx.session, d["enrollment_id"])
    tx.session.execute(update(LearningValidity).where(LearningValidity.enrollment_id == d["enrollment_id"])
                       .values(state="closed", next_reminder_days=None, next_reminder_on=None))
    tell_learner(tx, event, "refunded", d["enrollment_id"], now=now, values={
        "level_name": wording.LEVEL_NAMES[enrollment.level], "amount": wording.yuan(d["amount_fen"]),
        "reason": d["reason"]})


# -- the learning account's validity ------------------------------------------------------

def record_validity(tx, event, now: datetime) -> None:
    """learning.account-opened and learning.account-extended: the last day, and the
    next reminder of it (30, then 7 days before; not one whose day has passed)."""
    d, session = event.data, tx.session
    row = session.get(LearningValidity, d["enrollment_id"], with_for_update=True)
    if row is None:
        row = LearningValidity(enrollment_id=d["enrollment_id"], learner_id=d["learner_id"], state="open")
        session.add(row)
    elif row.state != "open" or (row.valid_until and row.valid_until >= d["valid_until"]):
        return  # closed, expired, or a later extension already here
    row.valid_until = d["valid_until"]
    _schedule(row, program_date(now))


def _schedule(row: LearningValidity, today: date, below: int | None = None) -> None:
    upcoming = wording.next_reminder(row.valid_until, today, below)
    row.next_reminder_days, row.next_reminder_on = upcoming if upcoming else (None, None)


def tell_expired(tx, event, now: datetime) -> None:
    d = event.data
    tx.session.execute(update(LearningValidity).where(LearningValidity.enrollment_id == d["enrollment_id"])
                       .values(state="expired", next_reminder_days=None, next_reminder_on=None))
    tell_learner(tx, event, "account-expired", d["enrollment_id"], now=now,
                 values={"valid_until": wording.local_date(d["valid_until"])})


def remind_due(tx, now: datetime, limit: int) -> int:
    """Tell learners whose account ends in 30 or 7 days (at 09:00 on the day), a
    claimed batch per call; how many rows it looked at."""
    today = program_date(now)
    rows = tx.session.scalars(select(LearningValidity).where(
        LearningValidity.state == "open", LearningValidity.next_reminder_on <= today)
        .order_by(LearningValidity.next_reminder_on).limit(limit).with_for_update(skip_locked=True)).all()
    for row in rows:
        if not wording.reminder_due(row.next_reminder_on, now):
            continue
        days_left = (row.valid_until - today).days
        enrollment, learner = _enrollment(tx.session, row.enrollment_id)
        notices.make(tx, "account-expiring", f"reminder:{row.enrollment_id}:{row.valid_until}:{row.next_reminder_days}",
                     correlation_id=row.enrollment_id, now=now, account=login_of(tx.session, learner.learner_id),
                     learner=learner, enrollment_id=row.enrollment_id, base_code=enrollment.base_code,
                     values={"full_name": learner.full_name, "valid_until": wording.local_date(row.valid_until),
                             "days": days_left})
        _schedule(row, today, below=wording.reminder_sent(days_left))
    return len(rows)


# -- exams and certificates ------------------------------------------------------------------

def tell_registered(tx, event, now: datetime) -> None:
    d = event.data
    tell_learner(tx, event, "sitting-assigned", d["enrollment_id"], now=now, values={
        "level_name": wording.LEVEL_NAMES[d["level"]], "attempt_number": d["attempt_number"],
        "starts": wording.local_time(d["starts_at"]), "ends": wording.local_time(d["ends_at"])[-5:]})


def tell_sitting_changed(tx, event, now: datetime) -> None:
    d = event.data
    previous = wording.local_time(d["previous_starts_at"])
    if d["change"] == "moved":
        tell_learner(tx, event, "sitting-moved", d["enrollment_id"], now=now, values={
            "starts": wording.local_time(d["starts_at"]), "previous": previous, "reason": d["reason"]})
    else:
        tell_learner(tx, event, "sitting-released", d["enrollment_id"], now=now,
                     values={"previous": previous, "reason": d["reason"]})


def tell_graded(tx, event, now: datetime) -> None:
    d = event.data
    values = {"level_name": wording.LEVEL_NAMES[d["level"]], "score": f"{d['score']:.1f}"}
    if d["passed"]:
        tell_learner(tx, event, "exam-passed", d["enrollment_id"], now=now, values=values)
    else:
        tell_learner(tx, event, "exam-failed", d["enrollment_id"], now=now,
                     values={**values, "retake_hint": wording.retake_hint(d["attempt_number"])})


def tell_certified(tx, event, now: datetime, public_base_url: str) -> None:
    d = event.data
    tell_learner(tx, event, "certificate-issued", d["enrollment_id"], now=now, values={
        "level_name": wording.LEVEL_NAMES[d["level"]], "certificate_number": d["certificate_number"],
        "verify_url": wording.verify_url(public_base_url, d["certificate_number"], d["holder_name"])})


# -- base operators ----------------------------------------------------------------------------

def tell_roster_finished(tx, event, now: datetime) -> None:
    """The operator who uploaded the roster, when they have a login; otherwise every
    operator of the base (a development token uploaded it)."""
    d, session = event.data, tx.session
    try:
        uploader = session.get(Account, uuid.UUID(d["uploaded_by"]))
    except ValueError:
        uploader = None
    if uploader is not None and uploader.kind == "staff":
        recipients = [uploader]
    else:
        operators = select(RoleGrant.account_id).where(RoleGrant.role == "base_operator",
                                                       RoleGrant.base_code == d["base_code"],
                                                       RoleGrant.removed_at.is_(None))
        recipients = session.scalars(select(Account).where(Account.account_id.in_(operators))).all()
    for account in recipients:
        notices.make(tx, "roster-finished", f"{event.id}:roster-finished:{account.account_id}",
                     correlation_id=event.correlation_id, now=now, account=account, base_code=d["base_code"],
                     values={"rows": d["rows"], "created": d["created"], "failed": d["failed"]})
