"""Invoices (发票), pure: who may ask, the title, the number, corrections.

An issued invoice is frozen. A correction is a red invoice (红字发票) reversing it,
for the negative amount, plus a new invoice with the corrected title; all three
stay recorded and linked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.calendar import program_date
from shared.errors import Conflict, InvalidInput

from . import OrderStatus, uscc

PERSONAL, COMPANY = "personal", "company"
BLUE, RED = "blue", "red"
ISSUED, REVERSED = "issued", "reversed"


class OrderNotPaid(Conflict):
    slug = "order-not-paid"


class AlreadyInvoiced(Conflict):
    slug = "already-invoiced"


class InvoiceNotCorrectable(Conflict):
    slug = "invoice-not-correctable"


class InvalidTitle(InvalidInput):
    slug = "invalid-invoice-title"


@dataclass(frozen=True)
class Title:
    kind: str            # personal or company
    name: str
    tax_id: str | None   # the company's unified social credit code


def title(kind: str, name: str, tax_id: str | None) -> Title:
    """A personal title is a name; a company title needs a valid credit code."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["title"] = ["the invoice title is empty"]
    if kind == COMPANY:
        code = uscc.normalise(tax_id or "")
        wrong = uscc.problem(code) if code else "a company title needs its unified social credit code"
        if wrong:
            errors["tax_id"] = [wrong]
        tax_id = code
    elif tax_id:
        errors["tax_id"] = ["a personal title has no taxpayer ID"]
    if errors:
        raise InvalidTitle("the invoice title is not valid", errors=errors)
    return Title(kind, name, tax_id if kind == COMPANY else None)


def may_issue(order_status: str, active: tuple[str, Title] | None, asked: Title) -> bool:
    """An invoice for a paid order, one at a time (a correction replaces it).
    `active` is the order's live invoice (id, title), if any. True: the request
    repeats the one that issued it, which answers it."""
    if active is not None:
        invoice_id, issued_to = active
        if issued_to == asked:
            return True
        raise AlreadyInvoiced("the order is already invoiced; ask for a correction instead",
                              invoice_id=str(invoice_id))
    if order_status != OrderStatus.PAID.value:
        raise OrderNotPaid(f"the order is {order_status}: an invoice follows payment")
    return False


def may_correct(kind: str, status: str, replacement: tuple[str, Title, str | None] | None = None,
                asked: Title | None = None, reason: str | None = None) -> bool:
    """Only a live blue invoice is corrected. True: the request repeats the
    correction that already replaced it (`replacement`: id, title, reason)."""
    if kind == BLUE and status == ISSUED:
        return False
    if replacement is not None:
        invoice_id, replaced_by, replaced_because = replacement
        if (replaced_by, replaced_because) == (asked, reason):
            return True
        raise InvoiceNotCorrectable(f"this invoice was corrected already by invoice {invoice_id}; "
                                    "correct that one", invoice_id=str(invoice_id))
    raise InvoiceNotCorrectable(f"a {status} {kind} invoice cannot be corrected; "
                                "correct the invoice that replaced it")


def number(serial: int, issued_at: datetime) -> str:
    """FP + the issue year (Asia/Shanghai) + the 10-digit serial: FP20260000000042."""
    return f"FP{program_date(issued_at).year}{serial:010d}"


def item_name(level: str, retake: bool) -> str:
    what = "补考费" if retake else "评价费（报名、培训、考试、证书）"
    return f"碳排放管理员职业能力水平评价 {level} {what}"
