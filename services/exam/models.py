"""Exam's own tables. Points are stored in tenths (integers): 0.4 points = 4."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, MetaData, String, Text,
                        Uuid, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.persistence.tables import add_messaging_tables
from shared.web.idempotency import add_idempotency_table
from shared.persistence.types import BigId, UtcDateTime

metadata = MetaData()
add_messaging_tables(metadata)
add_idempotency_table(metadata)  # kept answers of creating POSTs (shared/web/idempotency.py)


class Model(DeclarativeBase):
    metadata = metadata


class Candidate(Model):
    """Exam's projection of `learning.course-completed`: who may register."""
    __tablename__ = "candidates"
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    level: Mapped[str] = mapped_column(String(2))
    coursework_completed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Sitting(Model):
    __tablename__ = "sittings"
    sitting_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    level: Mapped[str] = mapped_column(String(4))  # L4, L3 or both
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    registration_closes_at: Mapped[datetime] = mapped_column(UtcDateTime)
    origin: Mapped[str] = mapped_column(String(12))  # generated | extra
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled | cancelled
    # The rule's slot a generated sitting stands for, unchanged when it is moved,
    # so the generator does not make it again.
    rule_slot: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    change_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # One scheduled sitting per origin, start and level; a cancelled one frees its slot.
    # (Across origins the actions refuse a clash, naming the sitting that is there.)
    __table_args__ = (Index("uq_sitting_slot", "origin", "starts_at", "level", unique=True,
                            sqlite_where=text("status = 'scheduled'"),
                            postgresql_where=text("status = 'scheduled'")),)


_TAKEN = "status IN ('registered', 'sat', 'absent')"


class Registration(Model):
    __tablename__ = "registrations"
    registration_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sitting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sittings.sitting_id"))
    level: Mapped[str] = mapped_column(String(2))
    attempt_number: Mapped[int] = mapped_column(Integer)
    # registered | sat | absent (attempts) | cancelled (by the learner) | released (sitting cancelled)
    status: Mapped[str] = mapped_column(String(12))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # cancelled/released
    # Result, once final.
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    score_tenths: Mapped[int | None] = mapped_column(Integer, nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    graded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    __table_args__ = (
        # One open registration per enrollment, enforced by the database.
        Index("uq_open_registration", "enrollment_id", unique=True,
              sqlite_where=text("status = 'registered'"), postgresql_where=text("status = 'registered'")),
        # One registration per attempt number, a cancelled or released one not counting.
        Index("uq_attempt_taken", "enrollment_id", "attempt_number", unique=True,
              sqlite_where=text(_TAKEN), postgresql_where=text(_TAKEN)),
        Index("ix_registrations_due", "status", "sitting_id"),
    )


class Question(Model):
    __tablename__ = "questions"
    question_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    area: Mapped[str] = mapped_column(String(30))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON)  # [{"key", "text"}]
    answer: Mapped[object] = mapped_column(JSON, nullable=True)  # never sent to a candidate
    rubric: Mapped[str | None] = mapped_column(Text, nullable=True)
    # draft -> active (a second examiner approved) -> retired | superseded (a newer
    # revision became active); a draft can be rejected.
    status: Mapped[str] = mapped_column(String(12), default="active")
    written_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: the seed file
    written_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Retirement(Model):
    """An examiner's request to retire a question and a second examiner's decision:
    until approved the question is still drawn."""
    __tablename__ = "question_retirements"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    question_id: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decision: Mapped[str | None] = mapped_column(String(10), nullable=True)  # approved | rejected
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    __table_args__ = (Index("uq_pending_retirement", "question_id", unique=True,
                            sqlite_where=text("decision IS NULL"), postgresql_where=text("decision IS NULL")),)


class Paper(Model):
    """A candidate's attempt: their own drawing, recorded with its seed."""
    __tablename__ = "papers"
    paper_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    registration_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("registrations.registration_id"), unique=True)
    blueprint_version: Mapped[str] = mapped_column(String(20))
    seed: Mapped[int] = mapped_column(BigInteger)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(12))  # open | submitted | closed
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    __table_args__ = (Index("ix_papers_due", "status", "closes_at"),)


class PaperQuestion(Model):
    __tablename__ = "paper_questions"
    paper_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("papers.paper_id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    points_tenths: Mapped[int] = mapped_column(Integer)
    option_order: Mapped[list] = mapped_column(JSON)
    # The right answer in the letters this candidate sees (canonical form, like a
    # saved answer), so scoring at close is one comparison. Never sent to the candidate.
    answer_key: Mapped[object] = mapped_column(JSON, nullable=True)
    answer: Mapped[object] = mapped_column(JSON, nullable=True)
    saved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    awarded_tenths: Mapped[int | None] = mapped_column(Integer, nullable=True)
    marked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    marked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PaidRetake(Model):
    """A further attempt that needs a paid retake order: asked (exam.retake-required
    emitted once), then paid (billing.retake-paid) and usable for registration."""
    __tablename__ = "paid_retakes"
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    attempt_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    required_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PublishedMonth(Model):
    """A month of the published exam calendar (domain/exam_calendar.py): its sitting
    weekend, the flags the rule raised, and the administrator's decision."""
    __tablename__ = "calendar_months"
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first of the month
    saturday: Mapped[date] = mapped_column(Date)
    sunday: Mapped[date] = mapped_column(Date)
    rule_saturday: Mapped[date] = mapped_column(Date)  # where the rule put it
    decision: Mapped[str] = mapped_column(String(12))  # rule, confirmed, moved
    flags: Mapped[list] = mapped_column(JSON)          # [{day, kind, detail}] of the weekend held
    rule_flags: Mapped[list] = mapped_column(JSON)     # those of the rule's weekend
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    holidays_source: Mapped[str] = mapped_column(String(40))  # the holiday calendar's version
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
