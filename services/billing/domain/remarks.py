"""Bank remarks and how a statement line finds its order, pure.

A transfer must carry `<full name>—碳排放管理员` (a retake: `…碳排放管理员补考`), but
people type what they type: other dashes (—, ——, -, －, _), spaces, full-width
characters, a dot or none in a name like 阿依古丽·买买提, words after the remark.
Names and remarks are reduced to a *name key* (NFKC, case-folded, without spaces,
separators or name dots) and only a key equal to an order's key is a candidate.
Only one open candidate for exactly the amount pays; anything else goes to a clerk.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from . import RETAKE_MARK, REMARK_SUFFIX, OrderKind, OrderStatus

# Dashes, underscores, slashes, brackets, punctuation and the dots inside names.
# After NFKC the full-width forms (－ ＿ （ ） ： ，) are already their ASCII selves.
_NOISE = re.compile(r"[\s\-_‐‑‒–—―−~〜/\\|:;,.。、·•・'\"“”‘’()\[\]{}【】〔〕<>《》「」+*#=]+")


def name_key(text: str) -> str:
    """The form names and remarks are compared in: 'Zhang San' and 'ZHANGSAN' alike."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or "").casefold())


@dataclass(frozen=True)
class Remark:
    """What a remark says: whose payment (as a name key) and whether for a retake."""
    name: str | None
    retake: bool = False
    has_suffix: bool = False


def parse_remark(text: str) -> Remark:
    """`张三—碳排放管理员` → 张三. Words after the program's suffix are ignored (except
    补考, which marks a retake); the suffix may also come first (`碳排放管理员 张三`).
    Without the suffix the whole remark must be the name: `张三` pays, `张三学费` does
    not (where the name ends cannot be known)."""
    key = name_key(text)
    suffix = name_key(REMARK_SUFFIX)
    at = key.find(suffix)
    if at < 0:
        return Remark(key or None)
    before, after = key[:at], key[at + len(suffix):]
    retake = after.startswith(RETAKE_MARK)
    if before:
        return Remark(before, retake, True)
    # Suffix first: what follows is the name (after 补考, when it is there).
    name = after[len(RETAKE_MARK):] if retake else after
    return Remark(name or None, retake, True)


class LineState(str, Enum):
    """Where one statement line ends, exactly one of these."""
    MATCHED = "matched"            # paid its order
    ALREADY_PAID = "already_paid"  # its order was paid before: refund due
    ORDER_CLOSED = "order_closed"  # its order was cancelled or refunded: refund due
    UNMATCHED = "unmatched"        # no order of that name
    WRONG_AMOUNT = "wrong_amount"  # one open order of that name, another amount
    AMBIGUOUS = "ambiguous"        # several orders could be meant
    DUPLICATE = "duplicate"        # the same bank line was imported before
    INVALID = "invalid"            # unreadable: the reason says why

    @property
    def needs_review(self) -> bool:
        return self in REVIEW_REASON


# What the clerk's review queue calls each line that waits for them.
REVIEW_REASON = {
    LineState.ALREADY_PAID: "refund_due", LineState.ORDER_CLOSED: "refund_due",
    LineState.UNMATCHED: "unmatched", LineState.WRONG_AMOUNT: "wrong_amount",
    LineState.AMBIGUOUS: "ambiguous",
}


@dataclass
class Candidate:
    """An order as matching sees it. `status` changes as lines of one file pay it."""
    order_id: object
    name: str
    kind: OrderKind
    status: OrderStatus
    amount_fen: int


@dataclass(frozen=True)
class Match:
    state: LineState
    order_id: object = None
    reason: str = ""
    candidates: tuple = ()


def match(remark: Remark, amount_fen: int, orders: list[Candidate]) -> Match:
    """The one rule: exactly one open order of that name for exactly that amount.

    `orders` are the orders whose name key equals the remark's. A retake remark
    looks at retake orders only; a plain one at both kinds (the amounts tell an
    enrollment fee from a retake fee, and two exact fits are ambiguous anyway)."""
    if not remark.name:
        return Match(LineState.UNMATCHED, reason="the remark names nobody")
    if remark.retake:
        orders = [o for o in orders if o.kind == OrderKind.RETAKE]
    if not orders:
        what = "retake order" if remark.retake else "order"
        return Match(LineState.UNMATCHED, reason=f"no {what} for the name in the remark")
    open_ = [o for o in orders if o.status == OrderStatus.OPEN]
    exact = [o for o in open_ if o.amount_fen == amount_fen]
    if len(exact) == 1:
        return Match(LineState.MATCHED, exact[0].order_id)
    if len(exact) > 1:
        return Match(LineState.AMBIGUOUS, reason=f"{len(exact)} open orders of that name for that amount",
                     candidates=tuple(o.order_id for o in exact))
    if len(open_) == 1:
        return Match(LineState.WRONG_AMOUNT, open_[0].order_id,
                     reason=f"{amount_fen} fen paid, {open_[0].amount_fen} fen due")
    if len(open_) > 1:
        return Match(LineState.AMBIGUOUS, reason=f"{len(open_)} open orders of that name, none for that amount",
                     candidates=tuple(o.order_id for o in open_))
    paid = [o for o in orders if o.status == OrderStatus.PAID]
    if paid:
        return Match(LineState.ALREADY_PAID, paid[0].order_id if len(paid) == 1 else None,
                     reason="the order of that name is already paid: refund due",
                     candidates=tuple(o.order_id for o in paid))
    return Match(LineState.ORDER_CLOSED, orders[0].order_id if len(orders) == 1 else None,
                 reason="the order of that name was cancelled or refunded: refund due",
                 candidates=tuple(o.order_id for o in orders))
