"""Identity's own tables: accounts and their credentials, role grants, sessions
(refresh tokens), throttling, the audit trail, notices, and what identity learned
from the other services' events (learners, enrollments, bases, learning accounts)."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, MetaData, String, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.persistence.tables import add_messaging_tables
from shared.persistence.types import BigId, UtcDateTime
from shared.web.idempotency import add_idempotency_table
from shared.web.ratelimit import add_rate_limit_table

metadata = MetaData()
add_messaging_tables(metadata)
add_idempotency_table(metadata)  # kept answers of creating POSTs (shared/web/idempotency.py)
add_rate_limit_table(metadata)  # the login endpoints' counters, shared by replicas


class Model(DeclarativeBase):
    metadata = metadata


# -- what identity learned from events --------------------------------------------------

class Learner(Model):
    """A learner as enrollment described them (`enrollment.enrolled`). Never the full
    ID number: its keyed hash (to find the login by ID number) and masked form."""
    __tablename__ = "learners"
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    full_name: Mapped[str] = mapped_column(String(100))
    # The mobile of the latest enrollment; the login keeps the one it was opened with.
    mobile: Mapped[str | None] = mapped_column(String(20), nullable=True)


class LearnerEnrollment(Model):
    __tablename__ = "learner_enrollments"
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.learner_id"), index=True)
    level: Mapped[str] = mapped_column(String(2))
    base_code: Mapped[str] = mapped_column(String(32), index=True)
    base_name: Mapped[str] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(20), nullable=True)


class Base(Model):
    """A training base's authorization as enrollment reported it."""
    __tablename__ = "bases"
    base_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    base_name: Mapped[str] = mapped_column(String(200))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LearningValidity(Model):
    """A learning account's last day, for the reminders 30 and 7 days before it."""
    __tablename__ = "learning_validity"
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    valid_until: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10))  # open | expired | closed (refunded)
    # The next reminder due (30, then 7 days before), or none left.
    next_reminder_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_reminder_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    __table_args__ = (Index("ix_validity_reminders", "next_reminder_on"),)


# -- accounts and credentials ----------------------------------------------------------------

class Account(Model):
    """A login: a learner's (opened by payment, named by their ID number) or a staff
    member's (created by an administrator, named by a chosen login name)."""
    __tablename__ = "accounts"
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # learner | staff
    learner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True, nullable=True)
    login_name: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
    display_name: Mapped[str] = mapped_column(String(100))
    # None until the initial password is generated for its notice.
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    mobile: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # The channel the initial password went through; verified by the first login with it.
    delivery_channel: Mapped[str | None] = mapped_column(String(5), nullable=True)
    mobile_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigId, nullable=True)  # no code twice
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class RoleGrant(Model):
    """A staff role held by an account, with who granted and who removed it."""
    __tablename__ = "role_grants"
    grant_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    base_code: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    removal_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class RefreshToken(Model):
    """One refresh token (only its SHA-256 is kept). Each use spends it and issues the
    next of its family; presenting a spent one revokes the whole family."""
    __tablename__ = "refresh_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    base_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    family_expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    spent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_because: Mapped[str | None] = mapped_column(String(40), nullable=True)


class PasswordReset(Model):
    """A reset asked for; its one-time code is made when its notice is sent (only the
    hash is kept) and is good for a few tries within minutes."""
    __tablename__ = "password_resets"
    reset_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    channel: Mapped[str] = mapped_column(String(5))
    code_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ClientFailures(Model):
    """Failed logins from one client address (the shared store every replica sees)."""
    __tablename__ = "client_failures"
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Model):
    """What happened to credentials and rights: logins, failures, locks, changes,
    grants. Never a password, hash or code; a learner's login as its masked ID."""
    __tablename__ = "audit"
    entry_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    login: Mapped[str | None] = mapped_column(String(40), nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)


# -- notices -----------------------------------------------------------------------------

class Notice(Model):
    """One message to one person through one channel, made once per cause (the
    unique `cause`), retried with backoff until the channel accepts it."""
    __tablename__ = "notices"
    notice_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    cause: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    correlation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    learner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    base_code: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    channel: Mapped[str | None] = mapped_column(String(5), nullable=True)
    address: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # The template's values; a secret (password, code) is never among them: it is
    # made at sending time and only its hash is kept.
    values: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(14))  # pending | delivered | undeliverable
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    __table_args__ = (
        Index("ix_notices_due", "next_attempt_at", sqlite_where=text("state = 'pending'"),
              postgresql_where=text("state = 'pending'")),
    )

