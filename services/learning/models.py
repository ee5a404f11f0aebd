"""Learning's own tables."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.persistence.tables import add_messaging_tables
from shared.web.idempotency import add_idempotency_table
from shared.persistence.types import UtcDateTime

metadata = MetaData()
add_messaging_tables(metadata)
add_idempotency_table(metadata)  # kept answers of creating POSTs (shared/web/idempotency.py)


class Model(DeclarativeBase):
    metadata = metadata


class Learner(Model):
    """Learning's projection of `enrollment.enrolled`."""
    __tablename__ = "enrolled_learners"
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    level: Mapped[str] = mapped_column(String(2))
    full_name: Mapped[str] = mapped_column(String(100))
    base_code: Mapped[str] = mapped_column(String(32))


class Account(Model):
    __tablename__ = "accounts"
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)  # one account per enrollment
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    level: Mapped[str] = mapped_column(String(2))
    base_code: Mapped[str] = mapped_column(String(32), index=True)
    catalog_version: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    study_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # The expiry timer's question: active accounts whose last day has passed.
    __table_args__ = (Index("ix_accounts_status_valid_until", "status", "valid_until"),)


class AccountExtension(Model):
    """Every extension an administrator granted: who, when, from what to what, why."""
    __tablename__ = "account_extensions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    previous_valid_until: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    extended_by: Mapped[str] = mapped_column(String(100))
    extended_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CatalogVersion(Model):
    """A published catalog version (immutable); the newest (highest seq) is current."""
    __tablename__ = "catalog_versions"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(20), unique=True)
    data: Mapped[dict] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class StudyDay(Model):
    """A learner's accepted and refused minutes of one Asia/Shanghai day: the daily cap
    reads one row instead of summing the day's sessions."""
    __tablename__ = "study_days"
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    study_day: Mapped[date] = mapped_column(Date, primary_key=True)
    minutes_accepted: Mapped[int] = mapped_column(Integer, default=0)
    minutes_refused: Mapped[int] = mapped_column(Integer, default=0)


class CourseProgress(Model):
    __tablename__ = "course_progress"
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.account_id"), primary_key=True)
    course_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class StudySession(Model):
    """Every reported session, with what was accepted and what refused, and why; its
    time [started_at, ended_at) is what later sessions of the learner may not claim
    again (ended_at empty on sessions recorded before: started_at + minutes_accepted)."""
    __tablename__ = "study_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.account_id"))
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    session_id: Mapped[str] = mapped_column(String(100))
    course_code: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    study_day: Mapped[date] = mapped_column(Date)
    minutes_reported: Mapped[int] = mapped_column(Integer)
    minutes_accepted: Mapped[int] = mapped_column(Integer)
    minutes_refused: Mapped[int] = mapped_column(Integer)
    refusal_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    refusals: Mapped[list | None] = mapped_column(JSON, nullable=True)  # [{rule, minutes, message}]
    __table_args__ = (UniqueConstraint("account_id", "session_id", name="uq_session"),
                      # the overlap rule's question: the learner's sessions near a time
                      Index("ix_study_sessions_learner_started", "learner_id", "started_at"))


class LiveStudySession(Model):
    """A session the platform measures: started, kept alive by heartbeats, ended. It
    claims [started_at, last_beat_at) of the learner's time; what it credited and
    refused (by rule) is kept as running totals."""
    __tablename__ = "live_sessions"
    session_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    course_code: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_beat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    heartbeats: Mapped[int] = mapped_column(Integer, default=0)
    active_seconds: Mapped[int] = mapped_column(Integer, default=0)
    idle_seconds: Mapped[int] = mapped_column(Integer, default=0)
    overlapped_seconds: Mapped[int] = mapped_column(Integer, default=0)
    credited_minutes: Mapped[int] = mapped_column(Integer, default=0)  # before the daily cap
    minutes_accepted: Mapped[int] = mapped_column(Integer, default=0)
    minutes_refused: Mapped[int] = mapped_column(Integer, default=0)
    refused_by_rule: Mapped[dict] = mapped_column(JSON, default=dict)
    last_refusals: Mapped[list] = mapped_column(JSON, default=list)
    __table_args__ = (Index("ix_live_sessions_learner_last_beat", "learner_id", "last_beat_at"),)
