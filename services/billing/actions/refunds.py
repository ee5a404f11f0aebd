"""Refunds: the clerk's decision before study, an administrator's override after."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from shared.contracts import billing as events

from ..domain import OrderStatus, refunds
from ..models import Payment, Refund
from .invoices import reverse_for_refund
from .orders import study_begun, visible_order


def refund(tx, order_id, reason: str, override: bool, principal, now) -> tuple[dict, bool]:
    """(the refund, whether it is new): the same refund asked again answers it."""
    session = tx.session
    order = visible_order(session, order_id, principal, lock=True)
    done = session.scalar(select(Refund).where(Refund.order_id == order.order_id))
    if done is not None and refunds.repeated(done.refund_id, done.reason, reason):
        return view(done), False
    is_override = refunds.check(order.status, order.kind, study_begun(session, order.enrollment_id),
                                principal.role, override)
    amount = session.get(Payment, order.paying_payment_id).amount_fen
    record = Refund(refund_id=uuid.uuid4(), order_id=order.order_id, amount_fen=amount, reason=reason,
                    administrator_override=is_override, refunded_by=principal.subject or principal.role,
                    refunded_role=principal.role, refunded_at=now)
    session.add(record)
    order.status, order.closed_at = OrderStatus.REFUNDED.value, now
    reverse_for_refund(tx, order, principal, now)
    tx.emit(events.Refunded, {
        "order_id": order.order_id, "enrollment_id": order.enrollment_id, "learner_id": order.learner_id,
        "amount_fen": amount, "reason": reason, "administrator_override": is_override,
        "refunded_at": now}, correlation_id=order.enrollment_id)
    return view(record), True


def view(r: Refund) -> dict:
    return {c.key: getattr(r, c.key) for c in Refund.__table__.columns}
