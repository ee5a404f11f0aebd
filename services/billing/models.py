"""Billing's own tables."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, MetaData, String, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.persistence.tables import add_messaging_tables
from shared.persistence.types import BigId, UtcDateTime

metadata = MetaData()
add_messaging_tables(metadata)


class Model(DeclarativeBase):
    metadata = metadata


class Order(Model):
    __tablename__ = "orders"
    order_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    base_code: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(2))
    full_name: Mapped[str] = mapped_column(String(100))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payment_remark: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    paying_payment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


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
