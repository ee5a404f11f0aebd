"""The clerk's review queue, pure: settling a waiting payment to an order, or rejecting it."""
from __future__ import annotations

from enum import Enum

from shared.errors import Conflict

from . import OrderStatus


class AlreadyResolved(Conflict):
    slug = "review-item-resolved"


class Outcome(str, Enum):
    PAID = "paid"            # the payment paid the order it was settled to
    RECORDED = "recorded"    # attributed to the order as the clerk decided; nothing activated
    REJECTED = "rejected"    # not the program's money (or returned): no order


def settle(item_state: str, order_status: str, order_amount_fen: int, paid_fen: int) -> Outcome:
    """A clerk settles a waiting payment to an order. It pays that order only when
    the order is open and the amount exact; otherwise the decision (and the reason
    the clerk gave: refund the difference, returned to payer...) is recorded and
    nothing is activated by it."""
    if item_state != "open":
        raise AlreadyResolved(f"this payment was already {item_state}")
    if order_status == OrderStatus.OPEN.value and order_amount_fen == paid_fen:
        return Outcome.PAID
    return Outcome.RECORDED


def reject(item_state: str) -> Outcome:
    if item_state != "open":
        raise AlreadyResolved(f"this payment was already {item_state}")
    return Outcome.REJECTED
