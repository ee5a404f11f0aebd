"""The clerk's review queue: list, settle to an order, reject — each decision audited."""
from __future__ import annotations

from sqlalchemy import func, select

from shared.errors import NotFound
from shared.web.pagination import page

from ..domain import review
from ..models import Order, Payment, ReviewItem
from .payments import pay


def review_queue(session, query: dict) -> dict:
    """A page of the queue, oldest first, filtered by state (open by default) and reason."""
    stmt = select(ReviewItem, Payment).join(Payment, Payment.payment_id == ReviewItem.payment_id)
    if query["state"] != "all":
        stmt = stmt.where(ReviewItem.state == query["state"])
    if query.get("reason"):
        stmt = stmt.where(ReviewItem.reason == query["reason"])
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.execute(stmt.order_by(ReviewItem.id).offset(query["offset"]).limit(query["limit"])).all()
    return page([item_view(item, payment) for item, payment in rows], total, query)


def item_view(item: ReviewItem, payment: Payment) -> dict:
    return {"id": item.id, "reason": item.reason, "state": item.state, "detail": item.detail,
            "created_at": item.created_at, "channel": payment.channel,
            "reference": payment.reference, "amount_fen": payment.amount_fen,
            "order_id": payment.order_id, "paid_at": payment.paid_at, "payer": payment.payer,
            "remark": payment.remark, "outcome": item.outcome, "settled_order_id": item.settled_order_id,
            "resolved_by": item.resolved_by, "resolved_role": item.resolved_role,
            "resolved_at": item.resolved_at, "resolution_reason": item.resolution_reason}


def _load(session, item_id) -> tuple[ReviewItem, Payment]:
    item = session.get(ReviewItem, item_id, with_for_update=True)
    if item is None:
        raise NotFound(f"no review item {item_id}")
    return item, session.get(Payment, item.payment_id)


def _audit(item: ReviewItem, state: str, outcome, principal, reason: str, now) -> None:
    item.state, item.outcome = state, outcome.value
    item.resolved_by, item.resolved_role = principal.subject or principal.role, principal.role
    item.resolved_at, item.resolution_reason = now, reason


def settle(tx, item_id: int, order_id, reason: str, principal, now) -> dict:
    """The clerk says whose money it is. An open order and the exact amount: the
    order is paid (billing.paid / billing.retake-paid). Otherwise the decision is
    recorded against the order and activates nothing."""
    session = tx.session
    item, payment = _load(session, item_id)
    order = session.get(Order, order_id, with_for_update=True)
    if order is None:
        raise NotFound(f"no order {order_id}")
    outcome = review.settle(item.state, order.status, order.amount_fen, payment.amount_fen)
    if outcome == review.Outcome.PAID:
        payment.order_id = order.order_id
        pay(tx, order, payment.payment_id, payment.channel, payment.reference, payment.amount_fen,
            payment.paid_at)
    _audit(item, "settled", outcome, principal, reason, now)
    item.settled_order_id = order.order_id
    return item_view(item, payment)


def reject(tx, item_id: int, reason: str, principal, now) -> dict:
    session = tx.session
    item, payment = _load(session, item_id)
    _audit(item, "rejected", review.reject(item.state), principal, reason, now)
    return item_view(item, payment)
