"""Monthly figures per training base, from orders, payments, clerk decisions and refunds."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..domain import reports
from ..models import Order, Payment, Refund, ReviewItem


def monthly(session, first: date, last: date, base_code: str | None) -> list[reports.Row]:
    report = reports.report_for(first, last)
    start, end = reports.bounds(first, last)

    def of_base(query):
        return query.where(Order.base_code == base_code) if base_code else query

    for o in session.execute(of_base(select(Order.base_code, Order.opened_at, Order.amount_fen, Order.kind,
                                            Order.status)
                                     .where(Order.opened_at >= start, Order.opened_at < end))):
        report.order_opened(o.base_code, o.opened_at, o.amount_fen, o.kind == "enrollment", o.status)
    # Received: money that paid an order, or that a clerk settled to one.
    paying = of_base(select(Order.base_code, Payment.paid_at, Payment.amount_fen)
                     .join(Payment, Payment.payment_id == Order.paying_payment_id))
    recorded = of_base(select(Order.base_code, Payment.paid_at, Payment.amount_fen)
                       .select_from(ReviewItem)
                       .join(Payment, Payment.payment_id == ReviewItem.payment_id)
                       .join(Order, Order.order_id == ReviewItem.settled_order_id)
                       .where(ReviewItem.outcome == "recorded"))
    for query in (paying, recorded):
        for r in session.execute(query.where(Payment.paid_at >= start, Payment.paid_at < end)):
            report.received(r.base_code, r.paid_at, r.amount_fen)
    for r in session.execute(of_base(select(Order.base_code, Refund.refunded_at, Refund.amount_fen)
                                     .join(Order, Order.order_id == Refund.order_id)
                                     .where(Refund.refunded_at >= start, Refund.refunded_at < end))):
        report.refunded(r.base_code, r.refunded_at, r.amount_fen)
    return report.table()
