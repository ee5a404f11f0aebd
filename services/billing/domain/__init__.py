"""Billing's rules, pure: fees, the bank-transfer remark, how a payment settles an order.

The submodules hold the rest: `remarks` (bank remarks and statement matching),
`statement` (reading the bank's CSV), `uscc` (unified social credit codes),
`invoices`, `refunds`, `review` (the clerk's decisions), `reports`, `prices`
(the price schedule administrators set)."""
from __future__ import annotations

import hashlib
import hmac
from enum import Enum

REMARK_SUFFIX = "碳排放管理员"
RETAKE_MARK = "补考"  # after the suffix: the payment is for a paid retake


class OrderStatus(str, Enum):
    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class OrderKind(str, Enum):
    ENROLLMENT = "enrollment"  # the enrollment's fee: its payment emits billing.paid
    RETAKE = "retake"          # a paid retake: its payment emits billing.retake-paid


class Settlement(str, Enum):
    """What one reported payment did."""
    APPLIED = "applied"          # paid the order: billing.paid
    DUPLICATE = "duplicate"      # this provider transaction was seen before: nothing
    WRONG_AMOUNT = "wrong_amount"  # to the review queue; the order stays open
    UNKNOWN_ORDER = "unknown_order"  # to the review queue
    REFUND_DUE = "refund_due"    # the order was already paid (or closed): money to give back
    UNMATCHED = "unmatched"      # a bank line whose remark names no order
    AMBIGUOUS = "ambiguous"      # a bank line that fits several orders


def payment_remark(full_name: str, kind: OrderKind = OrderKind.ENROLLMENT) -> str:
    suffix = REMARK_SUFFIX + (RETAKE_MARK if kind == OrderKind.RETAKE else "")
    return f"{full_name}—{suffix}"


def settle(order_status: OrderStatus | None, order_amount_fen: int | None, paid_fen: int) -> Settlement:
    """Exactly the fee activates; anything else waits for a clerk, nothing by a guess."""
    if order_status is None:
        return Settlement.UNKNOWN_ORDER
    if order_status != OrderStatus.OPEN:  # paid, cancelled or refunded: nothing more to pay
        return Settlement.REFUND_DUE
    if paid_fen != order_amount_fen:
        return Settlement.WRONG_AMOUNT
    return Settlement.APPLIED


def signature_valid(secret: bytes, raw_body: bytes, presented: str) -> bool:
    """HMAC-SHA256 over the exact bytes received, compared in constant time."""
    expected = hmac.new(secret, raw_body, hashlib.sha256).hexdigest()
    presented = (presented or "").strip()
    if presented.startswith("sha256="):
        presented = presented[len("sha256="):]
    # compare_digest refuses non-ASCII str (a TypeError): compare bytes instead.
    return hmac.compare_digest(expected.encode(), presented.lower().encode("utf-8", "replace"))


def format_yuan(fen: int) -> str:
    """390000 -> '3,900.00' (display only; amounts stay integer fen)."""
    return f"{fen // 100:,}.{fen % 100:02d}"
