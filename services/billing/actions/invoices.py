"""Invoices: issued on request after payment, frozen, corrected by a red invoice
plus a new one."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from shared.errors import NotFound

from ..domain import invoices as rules
from ..domain import OrderKind
from ..models import Invoice, Order
from .orders import may_see, visible_order


def request(tx, order_id, title: rules.Title, principal, now) -> tuple[dict, bool]:
    """(the invoice, whether it is new): the same request again answers the invoice."""
    session = tx.session
    order = visible_order(session, order_id, principal, lock=True)
    active = session.scalar(select(Invoice).where(
        Invoice.order_id == order.order_id, Invoice.kind == rules.BLUE, Invoice.status == rules.ISSUED))
    if rules.may_issue(order.status, active and (active.invoice_id, _title_of(active)), title):
        return view(active), False
    return view(_issue(session, order, title, order.amount_fen, rules.BLUE, principal, now)), True


def correct(tx, invoice_id, title: rules.Title, reason: str, principal, now) -> tuple[list[dict], bool]:
    """The wrong invoice is reversed by a red one and replaced by a new one; the
    original stays as it was issued, marked reversed. The same correction again
    answers the two it made."""
    session = tx.session
    original, order = _visible(session, invoice_id, principal, lock=True)
    red = session.scalar(select(Invoice).where(Invoice.reverses_invoice_id == original.invoice_id))
    new = session.scalar(select(Invoice).where(Invoice.replaces_invoice_id == original.invoice_id))
    if rules.may_correct(original.kind, original.status,
                         new and (new.invoice_id, _title_of(new), new.reason), title, reason):
        return [view(red), view(new)], False
    red = _reverse(session, original, order, principal, now, reason)
    new = _issue(session, order, title, original.amount_fen, rules.BLUE, principal, now,
                 replaces=original.invoice_id, reason=reason)
    return [view(red), view(new)], True


def _title_of(invoice: Invoice) -> rules.Title:
    return rules.Title(invoice.title_kind, invoice.title, invoice.tax_id)


def reverse_for_refund(tx, order: Order, principal, now) -> None:
    """A refunded order keeps no live invoice: each is reversed by a red one."""
    for invoice in tx.session.scalars(select(Invoice).where(
            Invoice.order_id == order.order_id, Invoice.kind == rules.BLUE, Invoice.status == rules.ISSUED)):
        _reverse(tx.session, invoice, order, principal, now, "order refunded")


def _reverse(session, original: Invoice, order, principal, now, reason) -> Invoice:
    original.status = rules.REVERSED
    return _issue(session, order, rules.Title(original.title_kind, original.title, original.tax_id),
                  -original.amount_fen, rules.RED, principal, now, reverses=original.invoice_id,
                  reason=reason)


def _issue(session, order, title, amount_fen, kind, principal, now, reverses=None, replaces=None,
           reason=None) -> Invoice:
    invoice = Invoice(invoice_id=uuid.uuid4(), order_id=order.order_id, kind=kind, status=rules.ISSUED,
                      title_kind=title.kind, title=title.name, tax_id=title.tax_id,
                      item=rules.item_name(order.level, order.kind == OrderKind.RETAKE.value),
                      amount_fen=amount_fen, issued_at=now, requested_by=principal.subject or principal.role,
                      requested_role=principal.role, reverses_invoice_id=reverses,
                      replaces_invoice_id=replaces, reason=reason)
    session.add(invoice)
    session.flush()  # the serial makes the number
    invoice.number = rules.number(invoice.serial, now)
    return invoice


def _visible(session, invoice_id, principal, lock=False) -> tuple[Invoice, Order]:
    invoice = session.scalar(select(Invoice).where(Invoice.invoice_id == invoice_id))
    order = session.get(Order, invoice.order_id, with_for_update=lock) if invoice else None
    if invoice is None or not may_see(order, principal):
        raise NotFound(f"no invoice {invoice_id}")
    return invoice, order


def invoice_of(session, invoice_id, principal) -> tuple[dict, Order]:
    invoice, order = _visible(session, invoice_id, principal)
    return view(invoice), order


def of_order(session, order_id, principal) -> list[dict]:
    order = visible_order(session, order_id, principal)
    return [view(i) for i in session.scalars(select(Invoice).where(Invoice.order_id == order.order_id)
                                             .order_by(Invoice.serial))]


def view(i: Invoice) -> dict:
    return {c.key: getattr(i, c.key) for c in Invoice.__table__.columns if c.key != "serial"}
