"""Notices: made once per cause, claimed when due, sent outside any transaction,
recorded as delivered or tried again later (docs/identity.md, "Notices")."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from shared.contracts import identity as events
from shared.errors import NotFound
from shared.web.pagination import fetch_page, page

from ..domain import notices as rules
from ..models import Account, Learner, Notice, PasswordReset

CLAIM_LEASE = timedelta(minutes=2)
RESET_CODE_MINUTES = 15


def make(tx, kind: str, cause: str, *, correlation_id: uuid.UUID, values: dict, now: datetime,
         account: Account | None = None, learner: Learner | None = None,
         enrollment_id: uuid.UUID | None = None, base_code: str | None = None,
         channel: str | None = None) -> Notice | None:
    """Record the notice `cause` asks for, unless that cause already made one. It goes
    to the account's channels (a login keeps the mobile it was opened with), else to
    the learner's latest mobile; `channel` forces one (a reset code's)."""
    session = tx.session
    if session.scalar(select(Notice.notice_id).where(Notice.cause == cause)) is not None:
        return None
    rules.template(kind)  # an unknown kind is a bug: fail the handler, not the person
    mobile = account.mobile if account is not None else (learner.mobile if learner else None)
    email = account.email if account is not None else None
    if channel is not None:
        mobile, email = (mobile, None) if channel == "sms" else (None, email)
    prefer = "email" if account is not None and account.kind == "staff" else "sms"
    chosen = rules.choose_channel(mobile=mobile, email=email, prefer=prefer)
    notice = Notice(
        notice_id=uuid.uuid4(), cause=cause, kind=kind, correlation_id=correlation_id,
        account_id=account.account_id if account is not None else None,
        learner_id=(account.learner_id if account is not None else None) or (learner.learner_id if learner else None),
        enrollment_id=enrollment_id, base_code=base_code,
        channel=chosen[0] if chosen else None, address=chosen[1] if chosen else None,
        values=values, state="pending" if chosen else "undeliverable", attempts=0,
        next_attempt_at=now, created_at=now)
    session.add(notice)
    session.flush()
    if not chosen:
        notice.last_error = "no mobile number or e-mail address to send it to"
        _emit_undeliverable(tx, notice, now)
    return notice


@dataclass(frozen=True)
class Due:
    """A claimed notice, detached from its session, to be sent."""
    notice_id: uuid.UUID
    kind: str
    channel: str
    address: str
    values: dict
    account_id: uuid.UUID | None


def claim_due(tx, now: datetime, limit: int) -> list[Due]:
    """Claim due notices for a short lease, so that replicas never send one twice at
    once; a lease left by a process that died expires and the notice is claimed again."""
    rows = tx.session.scalars(
        select(Notice).where(Notice.state == "pending", Notice.next_attempt_at <= now,
                             or_(Notice.claimed_until.is_(None), Notice.claimed_until < now))
        .order_by(Notice.next_attempt_at).limit(limit).with_for_update(skip_locked=True)).all()
    for n in rows:
        n.claimed_until = now + CLAIM_LEASE
    return [Due(n.notice_id, n.kind, n.channel, n.address, dict(n.values), n.account_id) for n in rows]


def store_secret(tx, due: Due, secret_hash: str, now: datetime) -> bool:
    """Keep the hash of the secret about to be sent: the login's initial password or
    the reset's code. False when it no longer applies (the person already set a
    password; the reset was used), and the notice is dropped."""
    session = tx.session
    notice = session.get(Notice, due.notice_id, with_for_update=True)
    kind = rules.template(due.kind).secret
    if kind == "initial-password":
        account = session.get(Account, due.account_id, with_for_update=True)
        if account.password_changed_at is not None:
            _give_up(tx, notice, "the login's password was set meanwhile; no initial password sent", now)
            return False
        account.password_hash, account.must_change_password = secret_hash, True
        account.delivery_channel = due.channel
        return True
    reset = session.get(PasswordReset, uuid.UUID(due.values["reset_id"]), with_for_update=True)
    if reset is None or reset.used_at is not None:
        _give_up(tx, notice, "the reset was used or replaced meanwhile", now)
        return False
    reset.code_hash, reset.expires_at, reset.tries = secret_hash, now + timedelta(minutes=RESET_CODE_MINUTES), 0
    return True


def record_delivered(tx, notice_id: uuid.UUID, now: datetime) -> None:
    notice = tx.session.get(Notice, notice_id, with_for_update=True)
    notice.state, notice.delivered_at, notice.claimed_until = "delivered", now, None
    notice.attempts += 1
    tx.emit(events.NoticeDelivered, {
        "notice_id": notice.notice_id, "kind": notice.kind, "channel": notice.channel,
        "learner_id": notice.learner_id, "account_id": notice.account_id, "attempts": notice.attempts,
        "delivered_at": now}, correlation_id=notice.correlation_id)


def record_failure(tx, notice_id: uuid.UUID, error: str, now: datetime, delays: tuple[float, ...]) -> None:
    notice = tx.session.get(Notice, notice_id, with_for_update=True)
    notice.attempts += 1
    notice.claimed_until = None
    wait = rules.retry_after(notice.attempts, delays)
    if wait is None:
        _give_up(tx, notice, error, now)
    else:
        notice.last_error, notice.next_attempt_at = error[:500], now + wait


def _give_up(tx, notice: Notice, reason: str, now: datetime) -> None:
    notice.state, notice.last_error, notice.claimed_until = "undeliverable", reason[:500], None
    _emit_undeliverable(tx, notice, now)


def _emit_undeliverable(tx, notice: Notice, now: datetime) -> None:
    tx.emit(events.NoticeUndeliverable, {
        "notice_id": notice.notice_id, "kind": notice.kind, "channel": notice.channel,
        "learner_id": notice.learner_id, "account_id": notice.account_id, "attempts": notice.attempts,
        "reason": notice.last_error, "given_up_at": now}, correlation_id=notice.correlation_id)


# -- who sees what ----------------------------------------------------------------------

def listing(session, principal, query: dict, own: dict | None = None) -> dict:
    """Administrators see every notice; a base operator those of its own base's
    learners; anyone their own (`own`: {"learner_id": ...} or {"account_id": ...})."""
    stmt = select(Notice).order_by(Notice.created_at.desc(), Notice.notice_id)
    if own is not None:
        stmt = stmt.where(*(getattr(Notice, k) == v for k, v in own.items()))
    elif principal.role == "base_operator":
        stmt = stmt.where(Notice.base_code == principal.base)
    for name in ("learner_id", "enrollment_id", "state", "kind", "base_code"):
        if query.get(name) is not None:
            stmt = stmt.where(getattr(Notice, name) == query[name])
    rows, total = fetch_page(session, stmt, query)
    return page([view(n, with_text=own is not None) for n in rows], total, query)


def view(notice: Notice, with_text: bool = False) -> dict:
    found = {c.key: getattr(notice, c.key) for c in Notice.__table__.columns
             if c.key not in ("address", "values", "claimed_until", "cause", "correlation_id")}
    found["address_masked"] = rules.mask_address(notice.channel, notice.address) if notice.address else None
    if with_text:  # the person's own copy; a secret it carried is never shown again
        template = rules.template(notice.kind)
        subject, text = template.render(notice.values, "******" if template.secret else None)
        found.update(subject=subject, text=text)
    return found


def one(session, notice_id, principal) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None or (principal.role == "base_operator" and notice.base_code != principal.base):
        raise NotFound(f"no notice {notice_id}")
    return notice
