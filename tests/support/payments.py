"""Signed QR-payment notifications, as a provider would send them."""
import hashlib
import hmac
import json
from datetime import datetime, timezone

from tests.support.services import TEST_SETTINGS

SECRETS = dict(pair.split(":") for pair in TEST_SETTINGS["QR_PROVIDER_SECRETS"].split(","))


def notification(order_id, amount_fen, transaction_id, paid_at=None) -> bytes:
    return json.dumps({"transaction_id": transaction_id, "order_id": str(order_id),
                       "amount_fen": amount_fen,
                       "paid_at": (paid_at or datetime.now(timezone.utc)).isoformat()}).encode()


def sign(body: bytes, provider="wechat_pay", secret: str | None = None) -> dict:
    key = (secret or SECRETS[provider]).encode()
    return {"X-Signature": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


def notify(client, order_id, amount_fen, transaction_id, provider="wechat_pay", secret=None):
    body = notification(order_id, amount_fen, transaction_id)
    return client.post(f"/billing/payments/qr/{provider}", data=body,
                       headers=sign(body, provider, secret))
