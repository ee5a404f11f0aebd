"""QR payments through a provider's own API (WeChat Pay v3 Native), pure rules:
the provider's out-trade number of an order, what the code says and until when,
whether a notification is fresh, and what a paid transaction reports."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from . import REMARK_SUFFIX, RETAKE_MARK, OrderKind

PROGRAM = REMARK_SUFFIX  # 碳排放管理员: the program's name, in every description
NOTIFICATION_MAX_AGE = timedelta(minutes=5)
CHINA = timezone(timedelta(hours=8))


def out_trade_no(order_id: uuid.UUID) -> str:
    """The provider's merchant order number: our order's id, 32 hexadecimal digits
    (WeChat Pay allows 6 to 32 characters of [0-9A-Za-z_-|*])."""
    return uuid.UUID(str(order_id)).hex


def description(kind: str, level: str) -> str:
    """What the payer's app shows (WeChat Pay: at most 127 characters)."""
    what = f"{RETAKE_MARK}费" if kind == OrderKind.RETAKE.value else "报名费"
    return f"{PROGRAM}职业能力评价 {level} {what}"


def code_expiry(now: datetime, valid_for: timedelta, order_expires_at: datetime | None = None) -> datetime:
    """Until when a new code may be paid: its validity, never past the order's own
    expiry (none today: orders stay open until paid or cancelled), whole seconds."""
    end = now + valid_for
    if order_expires_at is not None:
        end = min(end, order_expires_at)
    return end.replace(microsecond=0)


def rfc3339(at: datetime) -> str:
    """As WeChat Pay writes times: 2026-11-29T22:56:20+08:00."""
    return at.astimezone(CHINA).isoformat(timespec="seconds")


def notification_fresh(timestamp: str, now: datetime, max_age: timedelta = NOTIFICATION_MAX_AGE) -> bool:
    """A notification's Wechatpay-Timestamp (Unix seconds) within max_age of now,
    either way: an older one may be a replay of a captured message."""
    if not (timestamp or "").strip().isdigit():
        return False
    sent = datetime.fromtimestamp(int(timestamp.strip()), timezone.utc)
    return abs(now - sent) <= max_age


class NotPaid(ValueError):
    """A transaction that does not report a payment (or not to this merchant)."""


@dataclass(frozen=True)
class PaidTransaction:
    out_trade_no: str
    transaction_id: str
    amount_fen: int
    paid_at: datetime


def paid_transaction(resource: dict, mchid: str, appid: str) -> PaidTransaction:
    """The decrypted `resource` of a TRANSACTION.SUCCESS notification (or a query's
    answer): a payment to this merchant and application, or NotPaid."""
    if not isinstance(resource, dict):
        raise NotPaid("the transaction is not an object")
    if resource.get("mchid") != mchid or resource.get("appid") != appid:
        raise NotPaid("the transaction is for another merchant or application")
    if resource.get("trade_state") != "SUCCESS":
        raise NotPaid(f"trade_state is {resource.get('trade_state')!r}, not SUCCESS")
    amount = resource.get("amount") or {}
    total = amount.get("total") if isinstance(amount, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total <= 0 \
            or amount.get("currency", "CNY") != "CNY":
        raise NotPaid("the amount is not a positive number of fen in CNY")
    number, transaction_id = resource.get("out_trade_no"), resource.get("transaction_id")
    if not (isinstance(number, str) and number and isinstance(transaction_id, str)
            and 0 < len(transaction_id) <= 100):
        raise NotPaid("out_trade_no or transaction_id is missing")
    try:
        paid_at = datetime.fromisoformat(str(resource.get("success_time")))
    except ValueError:
        raise NotPaid("success_time is not a time") from None
    if paid_at.tzinfo is None:
        raise NotPaid("success_time has no offset")
    return PaidTransaction(number, transaction_id, total, paid_at.astimezone(timezone.utc))
