"""Orders: opened from enrollment and exam events, closed by a cancellation,
and who may see them."""
from __future__ import annotations

import logging
import uuid

from sqlalchemy import select

from shared.contracts import billing as events
from shared.errors import NotFound
from shared.messaging.consumer import Defer

from .. import domain
from ..domain import OrderKind, OrderStatus
from ..domain.prices import RETAKE, PriceEntry, price_in_effect
from ..domain.remarks import name_key
from ..models import Order, StudyRecord

log = logging.getLogger(__name__)


def open_orders(tx, enrolled: list, schedule: list[PriceEntry]) -> None:
    """One order per enrollment, for the fee of its level in the price schedule at
    the moment of the enrollment (the order keeps it, whatever the schedule says
    later); the batch's orders in one insert. The inbox drops a redelivered event; the unique (enrollment_id,
    retake_attempt) refuses any other second order (a producer bug: it ends in the
    dead-letter queue, the rest of the batch unharmed)."""
    orders = []
    for event in enrolled:
        data = event.data
        order = dict(order_id=uuid.uuid4(), enrollment_id=data["enrollment_id"],
                     kind=OrderKind.ENROLLMENT.value, retake_attempt=0,
                     learner_id=data["learner_id"], base_code=data["base_code"], level=data["level"],
                     full_name=data["full_name"], name_key=name_key(data["full_name"]),
                     amount_fen=price_in_effect(schedule, data["level"], event.occurred_at),
                     payment_remark=domain.payment_remark(data["full_name"]),
                     status=OrderStatus.OPEN.value, opened_at=event.occurred_at)
        orders.append(order)
        tx.caused_by(event).emit(events.OrderOpened, {
            "order_id": order["order_id"], "enrollment_id": order["enrollment_id"], "level": order["level"],
            "amount_fen": order["amount_fen"], "payment_remark": order["payment_remark"],
            "opened_at": order["opened_at"]})
    tx.insert_rows(Order, orders)


def enrollment_order(session, enrollment_id, lock: bool = False) -> Order | None:
    query = select(Order).where(Order.enrollment_id == enrollment_id, Order.retake_attempt == 0)
    return session.scalar(query.with_for_update() if lock else query)


def cancel_order(tx, event) -> None:
    """enrollment.cancelled closes the open order; a payment arriving after that
    is a refund due (domain.settle). A cancellation that crossed a payment leaves
    the paid order alone: the money is the clerk's to refund."""
    order = enrollment_order(tx.session, event.data["enrollment_id"], lock=True)
    if order is None:
        raise Defer("enrollment.cancelled before the order was opened")
    if order.status != OrderStatus.OPEN.value:
        log.warning("cancellation of an order already %s", order.status,
                    extra={"order_id": str(order.order_id)})
        return
    order.status, order.closed_at = OrderStatus.CANCELLED.value, event.data["cancelled_at"]


def open_retake_order(tx, event, schedule: list[PriceEntry]) -> None:
    """exam.retake-required: one retake order per (enrollment, attempt), at the
    retake fee in the price schedule when the retake was required, for the learner
    and base of the enrollment's order."""
    data = event.data
    first = enrollment_order(tx.session, data["enrollment_id"])
    if first is None:
        raise Defer("exam.retake-required before the enrollment's order was opened")
    existing = tx.session.scalar(select(Order.order_id).where(
        Order.enrollment_id == data["enrollment_id"], Order.retake_attempt == data["attempt_number"]))
    if existing:
        return  # exam asked twice for the same attempt: one order
    tx.session.add(Order(
        order_id=uuid.uuid4(), enrollment_id=first.enrollment_id, kind=OrderKind.RETAKE.value,
        retake_attempt=data["attempt_number"], learner_id=first.learner_id, base_code=first.base_code,
        level=first.level, full_name=first.full_name, name_key=first.name_key,
        amount_fen=price_in_effect(schedule, RETAKE, event.occurred_at),
        payment_remark=domain.payment_remark(first.full_name, OrderKind.RETAKE),
        status=OrderStatus.OPEN.value, opened_at=event.occurred_at))


def record_study(tx, event) -> None:
    """learning.study-started, whenever it comes (before or after payment): from now
    on a refund of the enrollment needs an administrator."""
    data = event.data
    if tx.session.get(StudyRecord, data["enrollment_id"]) is None:
        tx.session.add(StudyRecord(enrollment_id=data["enrollment_id"], account_id=data["account_id"],
                                   started_at=data["started_at"]))


# -- who sees what ------------------------------------------------------------

def visible_order(session, order_id, principal, lock: bool = False) -> Order:
    order = session.get(Order, order_id, with_for_update=lock)
    if order is None or not may_see(order, principal):
        raise NotFound(f"no order {order_id}")
    return order


def order_of_enrollment(session, enrollment_id, principal) -> Order:
    order = enrollment_order(session, enrollment_id)
    if order is None or not may_see(order, principal):
        raise NotFound(f"no order for enrollment {enrollment_id}")
    return order


def orders_of_enrollment(session, enrollment_id, principal) -> list[Order]:
    orders = [o for o in session.scalars(select(Order).where(Order.enrollment_id == enrollment_id)
                                         .order_by(Order.retake_attempt)) if may_see(o, principal)]
    if not orders:
        raise NotFound(f"no order for enrollment {enrollment_id}")
    return orders


def may_see(order: Order, principal) -> bool:
    if principal.role == "base_operator":
        return order.base_code == principal.base
    if principal.role == "learner":
        return str(order.learner_id) == principal.subject
    return principal.role in ("finance_clerk", "admin")


def view(order: Order, bank: dict, study_begun: bool | None = None) -> dict:
    out = {**{c.key: getattr(order, c.key) for c in Order.__table__.columns},
           "amount_display": domain.format_yuan(order.amount_fen), "currency": "CNY",
           "pay_to": bank}
    if study_begun is not None:
        out["study_begun"] = study_begun
    return out


def study_begun(session, enrollment_id) -> bool:
    return session.get(StudyRecord, enrollment_id) is not None
