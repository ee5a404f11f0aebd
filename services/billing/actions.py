"""What billing does, one function per action or event, over a transaction."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from shared.contracts import billing as events
from shared.errors import NotFound

from . import domain
from .domain import OrderStatus, Settlement
from .models import Order, Payment, ReviewItem


def open_order(tx, event, fees: domain.Fees) -> None:
    """One order per enrollment, for the exact fee of its level. The inbox drops a
    redelivered event; the unique enrollment_id refuses any other second order
    (a producer bug: it would end in the dead-letter queue, not in a second order)."""
    data = event.data
    order = Order(order_id=uuid.uuid4(), enrollment_id=data["enrollment_id"],
                  learner_id=data["learner_id"], base_code=data["base_code"], level=data["level"],
                  full_name=data["full_name"], amount_fen=fees.for_level(data["level"]),
                  payment_remark=domain.payment_remark(data["full_name"]),
                  status=OrderStatus.OPEN.value, opened_at=event.occurred_at)
    tx.session.add(order)
    tx.emit(events.OrderOpened, {
        "order_id": order.order_id, "enrollment_id": order.enrollment_id, "level": order.level,
        "amount_fen": order.amount_fen, "payment_remark": order.payment_remark,
        "opened_at": order.opened_at})


def record_payment(tx, *, channel: str, reference: str, order_id, amount_fen: int,
                   paid_at: datetime, now: datetime) -> tuple[Settlement, Order | None]:
    """A reported payment: counted once per (channel, reference); pays an order only
    when it is open and the amount is exact."""
    session = tx.session
    if session.scalar(select(Payment.payment_id).where(Payment.channel == channel,
                                                      Payment.reference == reference)):
        return Settlement.DUPLICATE, None
    order = session.get(Order, order_id) if order_id else None
    settlement = domain.settle(OrderStatus(order.status) if order else None,
                               order.amount_fen if order else None, amount_fen)
    payment = Payment(channel=channel, reference=reference, order_id=order_id,
                      amount_fen=amount_fen, paid_at=paid_at, received_at=now,
                      settlement=settlement.value)
    session.add(payment)
    session.flush()
    if settlement == Settlement.APPLIED:
        order.status, order.paid_at, order.paying_payment_id = OrderStatus.PAID.value, paid_at, payment.payment_id
        tx.emit(events.Paid, {
            "order_id": order.order_id, "enrollment_id": order.enrollment_id,
            "learner_id": order.learner_id, "amount_fen": amount_fen, "channel": channel,
            "payment_reference": reference, "paid_at": paid_at,
        }, correlation_id=order.enrollment_id)
    else:
        session.add(ReviewItem(payment_id=payment.payment_id, reason=settlement.value, state="open",
                               detail=_review_detail(settlement, order, amount_fen), created_at=now))
    return settlement, order


def _review_detail(settlement: Settlement, order: Order | None, amount_fen: int) -> str:
    paid = domain.format_yuan(amount_fen)
    if settlement == Settlement.UNKNOWN_ORDER:
        return f"{paid} CNY for an order this system does not know"
    if settlement == Settlement.WRONG_AMOUNT:
        return f"{paid} CNY paid against {domain.format_yuan(order.amount_fen)} CNY due"
    return f"{paid} CNY received for order {order.order_id}, already {order.status}: refund due"


def visible_order(session, order_id, principal) -> Order:
    order = session.get(Order, order_id)
    if order is None or not _may_see(order, principal):
        raise NotFound(f"no order {order_id}")
    return order


def order_of_enrollment(session, enrollment_id, principal) -> Order:
    order = session.scalar(select(Order).where(Order.enrollment_id == enrollment_id))
    if order is None or not _may_see(order, principal):
        raise NotFound(f"no order for enrollment {enrollment_id}")
    return order


def _may_see(order: Order, principal) -> bool:
    if principal.role == "base_operator":
        return order.base_code == principal.base
    if principal.role == "learner":
        return str(order.learner_id) == principal.subject
    return principal.role in ("finance_clerk", "admin")


def view(order: Order, bank: dict) -> dict:
    return {**{c.key: getattr(order, c.key) for c in Order.__table__.columns},
            "amount_display": domain.format_yuan(order.amount_fen), "currency": "CNY",
            "pay_to": bank}


def review_queue(session) -> list[dict]:
    rows = session.execute(select(ReviewItem, Payment).join(Payment, Payment.payment_id == ReviewItem.payment_id)
                           .where(ReviewItem.state == "open").order_by(ReviewItem.id)).all()
    return [{"id": item.id, "reason": item.reason, "state": item.state, "detail": item.detail,
             "created_at": item.created_at, "channel": payment.channel,
             "reference": payment.reference, "amount_fen": payment.amount_fen,
             "order_id": payment.order_id} for item, payment in rows]
