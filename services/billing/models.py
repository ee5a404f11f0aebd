"""Billing's own tables."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, event, inspect, Boolean, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.persistence.tables import add_messaging_tables
from shared.web.idempotency import add_idempotency_table
from shared.persistence.types import BigId, UtcDateTime

metadata = MetaData()
add_messaging_tables(metadata)
add_idempotency_table(metadata)  # kept answers of creating POSTs (shared/web/idempotency.py)


class Model(DeclarativeBase):
    metadata = metadata


class Order(Model):
    """What a learner owes: the enrollment's fee, or a paid retake."""
    __tablename__ = "orders"
    order_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(16), server_default=text("'enrollment'"))
    # 0 for the enrollment's order; the attempt number for a retake order.
    retake_attempt: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    base_code: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(2))
    full_name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100), index=True)  # remarks.name_key(full_name)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payment_remark: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    paying_payment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # cancelled or refunded
    __table_args__ = (UniqueConstraint("enrollment_id", "retake_attempt", name="uq_order_per_attempt"),)


class Payment(Model):
    """Every payment reported to us, whatever became of it."""
    __tablename__ = "payments"
    payment_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    settlement: Mapped[str] = mapped_column(String(20))
    payer: Mapped[str | None] = mapped_column(String(200), nullable=True)   # bank lines: the payer
    remark: Mapped[str | None] = mapped_column(String(500), nullable=True)  # bank lines: the remark
    # Each provider transaction counts once, enforced by the database too.
    __table_args__ = (UniqueConstraint("channel", "reference", name="uq_payment_reference"),)


class ReviewItem(Model):
    """A payment a clerk must settle: wrong amount, unknown order, money to refund."""
    __tablename__ = "review_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.payment_id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(16), default="open")
    detail: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The clerk's decision, audited: who, when, why, to which order, what it did.
    resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolved_role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolution_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    settled_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class Statement(Model):
    """One uploaded bank statement file and what became of its lines."""
    __tablename__ = "statements"
    statement_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    encoding: Mapped[str] = mapped_column(String(20))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    line_count: Mapped[int] = mapped_column(Integer)
    counts: Mapped[str] = mapped_column(Text)  # JSON: state -> lines
    # importing until every line is recorded; an import that stopped half-way is
    # resumed by the same file (its digest), never left looking complete.
    state: Mapped[str] = mapped_column(String(20), server_default="complete")
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class StatementLine(Model):
    __tablename__ = "statement_lines"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("statements.statement_id"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    remark: Mapped[str | None] = mapped_column(String(500), nullable=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    payment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class StudyRecord(Model):
    """learning.study-started: from then on a refund needs an administrator."""
    __tablename__ = "study_records"
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Refund(Model):
    __tablename__ = "refunds"
    refund_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.order_id"), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    administrator_override: Mapped[bool] = mapped_column(Boolean)
    refunded_by: Mapped[str] = mapped_column(String(100))
    refunded_role: Mapped[str] = mapped_column(String(20))
    refunded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Invoice(Model):
    """An issued invoice: frozen. A correction adds a red invoice and a new one."""
    __tablename__ = "invoices"
    serial: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    # active_history: the old number is loaded before a change, so the guard below sees it.
    number: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True, active_history=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.order_id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))      # blue (normal) or red (reversal)
    status: Mapped[str] = mapped_column(String(12))   # issued, or reversed (blue only)
    title_kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(18), nullable=True)
    item: Mapped[str] = mapped_column(String(200))
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # negative on a red invoice
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_role: Mapped[str] = mapped_column(String(20))
    reverses_invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    replaces_invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class InvoiceFrozen(Exception):
    """An issued invoice was about to change: corrections are red invoices."""


@event.listens_for(Invoice, "before_update")
def _invoice_is_frozen(mapper, connection, invoice):
    """Only the status may change (issued → reversed), and the number be set once
    right after the insert (it is made from the serial)."""
    state = inspect(invoice)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    number = state.attrs.number.history
    if changed - {"status", "number"} or (number.has_changes() and any(number.deleted)):
        raise InvoiceFrozen(f"invoice {invoice.invoice_id} is issued: {sorted(changed)} cannot change")


class PriceEntry(Model):
    """One entry of the price schedule, as an administrator recorded it: append-only
    (a correction is a new entry). The starting prices are the configuration's
    (domain/prices.py), not rows."""
    __tablename__ = "price_entries"
    sequence: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))          # L4, L3 or retake
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    effective_from: Mapped[date] = mapped_column(Date)    # from 00:00 Asia/Shanghai
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_role: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    __table_args__ = (Index("ix_price_entries_kind_effective", "kind", "effective_from"),)


class PriceHistoryIsAppendOnly(Exception):
    """A recorded price entry was about to change or go."""


@event.listens_for(PriceEntry, "before_update")
@event.listens_for(PriceEntry, "before_delete")
def _price_entries_are_never_edited(mapper, connection, entry):
    raise PriceHistoryIsAppendOnly(f"price entry {entry.sequence} is recorded: record a new one instead")


class QrCode(Model):
    """A provider order made for a learner to scan (WeChat Pay Native): one per order
    and channel, its code shown again to whoever asks again while it is valid."""
    __tablename__ = "qr_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.order_id"))
    channel: Mapped[str] = mapped_column(String(20))
    out_trade_no: Mapped[str] = mapped_column(String(32))
    code_url: Mapped[str] = mapped_column(String(200))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(127))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    __table_args__ = (UniqueConstraint("order_id", "channel", name="uq_qr_code_per_order"),
                      UniqueConstraint("channel", "out_trade_no", name="uq_qr_code_out_trade_no"))
