"""Certificate's own tables: the talent registry."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Integer, MetaData, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.persistence.tables import add_messaging_tables
from shared.web.idempotency import add_idempotency_table
from shared.persistence.types import UtcDateTime
from shared.web.ratelimit import add_rate_limit_table

metadata = MetaData()
add_messaging_tables(metadata)
add_idempotency_table(metadata)  # kept answers of creating POSTs (shared/web/idempotency.py)
add_rate_limit_table(metadata)  # public verification's counters, shared by replicas


class Model(DeclarativeBase):
    metadata = metadata


class Holder(Model):
    """Certificate's projection of `enrollment.enrolled`."""
    __tablename__ = "holders"
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    level: Mapped[str] = mapped_column(String(2))
    full_name: Mapped[str] = mapped_column(String(100))
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    base_code: Mapped[str] = mapped_column(String(32))
    base_name: Mapped[str] = mapped_column(String(200))


class NumberSequence(Model):
    __tablename__ = "number_sequences"
    level: Mapped[str] = mapped_column(String(2), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Certificate(Model):
    """One issue of a certificate: the first (serial 1) or a corrected reissue of the
    same number (serial 2, 3...), which supersedes the one before it."""
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "serial", name="uq_certificates_enrollment_serial"),
        UniqueConstraint("number", "serial", name="uq_certificates_number_serial"),
        UniqueConstraint("status_index", name="uq_certificates_status_index"),
    )
    certificate_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    number: Mapped[str] = mapped_column(String(60), index=True)
    serial: Mapped[int] = mapped_column(Integer)  # 1 on issue; a correction reissues with the next
    # One number per enrollment; an imported certificate (issued before this system) has neither.
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True, nullable=True)
    learner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True, nullable=True)
    level: Mapped[str] = mapped_column(String(2))
    holder_name: Mapped[str] = mapped_column(String(100))
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    base_code: Mapped[str] = mapped_column(String(32), index=True)
    base_name: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)  # this serial's issue (or reissue)
    status: Mapped[str] = mapped_column(String(12))  # valid | superseded | revoked
    key_id: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(Text)  # Ed25519 over domain.canonical_bytes, base64url
    correction_reason: Mapped[str | None] = mapped_column(Text)  # why this serial was reissued
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    # issued (by this system) | imported (issued before it; the import's provenance below)
    origin: Mapped[str] = mapped_column(String(10), default="issued", server_default=text("'issued'"))
    imported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    imported_by: Mapped[str | None] = mapped_column(String(100))
    import_file_sha256: Mapped[str | None] = mapped_column(String(64))
    # The record's bit in the published status list (docs/certificate-credentials.md).
    status_index: Mapped[int | None] = mapped_column(Integer)
