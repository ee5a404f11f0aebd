"""QR payments through a provider's API: the code a learner scans, and the
provider's verified notification settled by billing's one payment rule
(payments.record_payment: exact amount pays, each provider transaction once,
anything else to the review queue)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from shared.errors import Conflict, Unavailable

from ..channels.wechatpay import CHANNEL, ProviderError
from ..domain import OrderStatus, Settlement
from ..domain import qr as rules
from ..models import Order, QrCode
from .orders import visible_order
from .payments import record_payment

log = logging.getLogger(__name__)
# A code still shown must leave the payer this long to scan and pay it.
STILL_PAYABLE = timedelta(minutes=2)


def wechatpay_code(tx, channel, order_id, principal, now: datetime,
                   valid_for: timedelta) -> tuple[QrCode, bool]:
    """The order's open WeChat Pay code: the one already made while it can still be
    paid, else a new Native order (out_trade_no: the order's id). The order row is
    locked while the provider answers, so two askers make one provider order."""
    order = visible_order(tx.session, order_id, principal, lock=True)
    if order.status != OrderStatus.OPEN.value:
        raise Conflict(f"the order is {order.status}: nothing to pay", order_status=order.status)
    code = tx.session.scalar(select(QrCode).where(QrCode.order_id == order.order_id,
                                                  QrCode.channel == CHANNEL))
    if code is not None:
        if code.expires_at - now >= STILL_PAYABLE:
            return code, False
        raise Conflict("the order's WeChat Pay code has expired; a new code for the same order is "
                       "not available yet (docs/payments.md)", expired_at=code.expires_at)
    number, description = rules.out_trade_no(order.order_id), rules.description(order.kind, order.level)
    expires_at = rules.code_expiry(now, valid_for)
    try:
        code_url = channel.native_order(number, description, order.amount_fen, expires_at)
    except ProviderError as exc:
        log.warning("WeChat Pay order not created: %s", exc, extra={"order_id": str(order.order_id)})
        raise Unavailable("WeChat Pay could not be reached or refused the order; retry shortly") from None
    code = QrCode(order_id=order.order_id, channel=CHANNEL, out_trade_no=number, code_url=code_url,
                  amount_fen=order.amount_fen, description=description, expires_at=expires_at,
                  created_at=now, created_by=f"{principal.role}:{principal.subject}"[:100])
    tx.session.add(code)
    tx.session.flush()
    return code, True


def record_wechatpay(tx, paid: rules.PaidTransaction, now: datetime) -> tuple[Settlement, Order | None]:
    """A verified WeChat Pay payment: its out_trade_no names the order through the
    code we made (an unknown number: unknown_order, to the review queue)."""
    order_id = tx.session.scalar(select(QrCode.order_id).where(QrCode.channel == CHANNEL,
                                                               QrCode.out_trade_no == paid.out_trade_no))
    return record_payment(tx, channel=CHANNEL, reference=paid.transaction_id, order_id=order_id,
                          amount_fen=paid.amount_fen, paid_at=paid.paid_at, now=now)


def code_view(code: QrCode, png_base64: str) -> dict:
    return {"order_id": code.order_id, "channel": code.channel, "out_trade_no": code.out_trade_no,
            "code_url": code.code_url, "amount_fen": code.amount_fen, "description": code.description,
            "expires_at": code.expires_at, "png_base64": png_base64}
