"""Enrollment's own tables."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (Boolean, Date, ForeignKey, Index, Integer, MetaData, String, Text, false,
                        UniqueConstraint, Uuid, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.persistence.tables import add_messaging_tables
from shared.web.idempotency import add_idempotency_table
from shared.persistence.types import BigId, UtcDateTime

OPEN_SQL = "status NOT IN ('cancelled', 'refunded', 'expired', 'certified')"

metadata = MetaData()
add_messaging_tables(metadata)
add_idempotency_table(metadata)  # kept answers of creating POSTs (shared/web/idempotency.py)


class Model(DeclarativeBase):
    metadata = metadata


class TrainingBase(Model):
    __tablename__ = "training_bases"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200))
    authorized_from: Mapped[date] = mapped_column(Date)
    authorized_until: Mapped[date] = mapped_column(Date)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuthorizationChange(Model):
    """Every change of a base's authorization: who, when, why, and the result."""
    __tablename__ = "authorization_changes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    base_code: Mapped[str] = mapped_column(ForeignKey("training_bases.code"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # registered|suspended|reinstated|period_changed
    authorized_from: Mapped[date] = mapped_column(Date)
    authorized_until: Mapped[date] = mapped_column(Date)
    suspended: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(500))
    changed_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Only so that a flush inserts the base before its first change.
    base: Mapped[TrainingBase] = relationship(lazy="raise")


class Learner(Model):
    """One person, found again by the keyed hash of their ID number. Contact details
    are not here: each base's enrollment holds what that base entered."""
    __tablename__ = "learners"
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))


class Enrollment(Model):
    __tablename__ = "enrollments"
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.learner_id"))
    base_code: Mapped[str] = mapped_column(ForeignKey("training_bases.code"))
    level: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(32))
    full_name: Mapped[str] = mapped_column(String(100))
    mobile: Mapped[str] = mapped_column(String(20))  # as this base entered it (or changed it since)
    education_tier: Mapped[str] = mapped_column(String(40))
    education_status: Mapped[str] = mapped_column(String(20))
    related_work_months: Mapped[int] = mapped_column(Integer)
    work_months_since_l4: Mapped[int] = mapped_column(Integer, default=0)
    sector: Mapped[str] = mapped_column(String(40))
    invoice_title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # What the other services reported, for the base to follow.
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    amount_due_fen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    account_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    exam_score: Mapped[str | None] = mapped_column(String(8), nullable=True)
    exam_attempts: Mapped[int] = mapped_column(Integer, default=0)
    certificate_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    certificate_serial: Mapped[int | None] = mapped_column(Integer, nullable=True)
    certificate_status: Mapped[str | None] = mapped_column(String(20), nullable=True)  # valid|revoked

    __table_args__ = (
        Index("ix_enrollments_base_status", "base_code", "status"),
        # A learner's enrollments of every status (the partial index holds only open ones).
        Index("ix_enrollments_learner_level", "learner_id", "level"),
        # One open enrollment per learner and level, enforced by the database too.
        Index("uq_open_enrollment", "learner_id", "level", unique=True,
              sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL)),
    )


class StatusChange(Model):
    """Every move of an enrollment, with when and why; also the notes the base
    should see that change no status (from_status == to_status, `note` set)."""
    __tablename__ = "status_changes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollments.enrollment_id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(String(100))
    cause_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # Only so that a flush inserts the enrollment before its history.
    enrollment: Mapped["Enrollment"] = relationship(lazy="raise")


class RegisteredCertificate(Model):
    """Enrollment's projection of `certificate.issued` and `certificate.imported`: the L3 rule reads it."""
    __tablename__ = "registered_certificates"
    certificate_number: Mapped[str] = mapped_column(String(40), primary_key=True)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str] = mapped_column(String(2))
    issued_on: Mapped[date] = mapped_column(Date)
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # None: imported
    # Kept current by certificate.reissued (serial, corrected ID hash) and .revoked.
    serial: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class BulkUpload(Model):
    """A bulk-enrollment CSV, remembered by its content hash per base: the same
    file uploaded again answers the first result and creates nothing."""
    __tablename__ = "bulk_uploads"
    upload_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    base_code: Mapped[str] = mapped_column(ForeignKey("training_bases.code"))
    content_sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(20))
    rows: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20))  # processing|complete
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # A process that died mid-file leaves `processing`; after this the next upload resumes it.
    claimed_until: Mapped[datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (UniqueConstraint("base_code", "content_sha256", name="uq_bulk_upload_content"),)


class BulkUploadRow(Model):
    """One data row's outcome, committed with the enrollments of its chunk."""
    __tablename__ = "bulk_upload_rows"
    upload_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bulk_uploads.upload_id"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)  # as a spreadsheet numbers it: header 1, first data row 2
    outcome: Mapped[str] = mapped_column(String(10))  # created|failed
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    problem: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON problem document
