"""Payments reported by a QR provider, and what paying an order emits."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from shared.contracts import billing as events

from .. import domain
from ..domain import OrderKind, OrderStatus, Settlement
from ..models import Order, Payment, ReviewItem


def record_payment(tx, *, channel: str, reference: str, order_id, amount_fen: int,
                   paid_at: datetime, now: datetime) -> tuple[Settlement, Order | None]:
    """A reported payment: counted once per (channel, reference); pays an order only
    when it is open and the amount is exact. The order row is locked (PostgreSQL) so
    a statement import and a notification cannot both pay it."""
    session = tx.session
    if session.scalar(select(Payment.payment_id).where(Payment.channel == channel,
                                                      Payment.reference == reference)):
        return Settlement.DUPLICATE, None
    order = session.get(Order, order_id, with_for_update=True) if order_id else None
    settlement = domain.settle(OrderStatus(order.status) if order else None,
                               order.amount_fen if order else None, amount_fen)
    payment = Payment(channel=channel, reference=reference, order_id=order_id,
                      amount_fen=amount_fen, paid_at=paid_at, received_at=now,
                      settlement=settlement.value)
    session.add(payment)
    session.flush()
    if settlement == Settlement.APPLIED:
        pay(tx, order, payment.payment_id, channel, reference, amount_fen, paid_at)
    else:
        session.add(ReviewItem(payment_id=payment.payment_id, reason=settlement.value, state="open",
                               detail=_review_detail(settlement, order, amount_fen), created_at=now))
    return settlement, order


def pay(tx, order: Order, payment_id: int, channel: str, reference: str, amount_fen: int,
        paid_at: datetime) -> None:
    """The order is paid: the enrollment's order emits billing.paid, a retake
    order billing.retake-paid (exam's cue), never both."""
    order.status, order.paid_at, order.paying_payment_id = OrderStatus.PAID.value, paid_at, payment_id
    if order.kind == OrderKind.RETAKE.value:
        tx.emit(events.RetakePaid, {
            "order_id": order.order_id, "enrollment_id": order.enrollment_id,
            "learner_id": order.learner_id, "attempt_number": order.retake_attempt,
            "amount_fen": amount_fen, "paid_at": paid_at}, correlation_id=order.enrollment_id)
        return
    tx.emit(events.Paid, {
        "order_id": order.order_id, "enrollment_id": order.enrollment_id,
        "learner_id": order.learner_id, "amount_fen": amount_fen, "channel": channel,
        "payment_reference": reference, "paid_at": paid_at}, correlation_id=order.enrollment_id)


def _review_detail(settlement: Settlement, order: Order | None, amount_fen: int) -> str:
    paid = domain.format_yuan(amount_fen)
    if settlement == Settlement.UNKNOWN_ORDER:
        return f"{paid} CNY for an order this system does not know"
    if settlement == Settlement.WRONG_AMOUNT:
        return f"{paid} CNY paid against {domain.format_yuan(order.amount_fen)} CNY due"
    return f"{paid} CNY received for order {order.order_id}, already {order.status}: refund due"
