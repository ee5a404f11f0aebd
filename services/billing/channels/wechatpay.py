"""WeChat Pay API v3 through its maintained SDK (wechatpayv3), public-key mode:
requests signed with the merchant's API key (its certificate's serial named),
answers and notifications verified with the platform public key named by its id
(Wechatpay-Serial), notifications' `resource` decrypted with the APIv3 key.

The SDK calls https://api.mch.weixin.qq.com and has no setting for another address:
the base URL (the local stand-in in development and tests) replaces its core's
`_gate_way` after construction (docs/decisions.md "WeChat Pay API v3")."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from wechatpayv3 import WeChatPay, WeChatPayType

from ..domain import qr

log = logging.getLogger(__name__)
CHANNEL = "wechat_pay"  # the payments' channel, as the HMAC scheme names the same provider
REQUEST_TIMEOUT = (3, 10)  # seconds: connect, read


class ChannelNotConfigured(Exception):
    """A setting of the channel is missing or unreadable."""


class ProviderError(Exception):
    """The provider could not be reached, refused the request, or answered unsigned."""


class BadNotification(Exception):
    """A notification that does not verify: it has no effect. `status`: what to answer."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Settings:
    mchid: str
    appid: str
    cert_serial: str
    private_key: str
    apiv3_key: str
    public_key: str
    public_key_id: str
    base_url: str
    notify_url: str

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        """From billing's configuration (WECHATPAY_*, docs/payments.md); the serial,
        when not set, is the merchant certificate's."""
        def value(key: str) -> str:
            return str(config.get(f"WECHATPAY_{key}") or "").strip()

        def file(key: str) -> str:
            path = value(key)
            try:
                return Path(path).read_text().strip()
            except OSError as exc:
                raise ChannelNotConfigured(f"WECHATPAY_{key} ({path or 'not set'}): {exc.strerror}") from None
        serial = value("CERT_SERIAL")
        if not serial:
            cert = file("MERCHANT_CERT_FILE")
            serial = format(x509.load_pem_x509_certificate(cert.encode()).serial_number, "X")
        apiv3_key = value("APIV3_KEY") or file("APIV3_KEY_FILE")
        settings = cls(mchid=value("MCHID"), appid=value("APPID"), cert_serial=serial,
                       private_key=file("PRIVATE_KEY_FILE"), apiv3_key=apiv3_key,
                       public_key=file("PUBLIC_KEY_FILE"), public_key_id=value("PUBLIC_KEY_ID"),
                       base_url=value("BASE_URL").rstrip("/"), notify_url=value("NOTIFY_URL"))
        missing = [name for name in ("mchid", "appid", "public_key_id", "base_url", "notify_url")
                   if not getattr(settings, name)]
        if missing:
            raise ChannelNotConfigured(f"WeChat Pay settings missing: {', '.join(missing)}")
        if len(apiv3_key.encode()) != 32:
            raise ChannelNotConfigured("the WeChat Pay APIv3 key must be 32 bytes")
        return settings


class WeChatPayChannel:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.sdk = WeChatPay(wechatpay_type=WeChatPayType.NATIVE, mchid=settings.mchid,
                             private_key=settings.private_key, cert_serial_no=settings.cert_serial,
                             appid=settings.appid, apiv3_key=settings.apiv3_key,
                             notify_url=settings.notify_url, public_key=settings.public_key,
                             public_key_id=settings.public_key_id, timeout=REQUEST_TIMEOUT, logger=None)
        self.sdk._core._gate_way = settings.base_url  # the SDK's only address; see the module's text

    def native_order(self, out_trade_no: str, description: str, amount_fen: int, expires_at: datetime) -> str:
        """A Native order; its code_url (the provider answers an identical repeat with
        the same code). The answer's signature is verified by the SDK."""
        try:
            status, text = self.sdk.pay(description=description, out_trade_no=out_trade_no,
                                        amount={"total": amount_fen, "currency": "CNY"},
                                        time_expire=qr.rfc3339(expires_at))
        except Exception as exc:  # network, or the SDK's "failed to verify the signature"
            raise ProviderError(f"WeChat Pay could not create the order: {exc}") from None
        if status != 200:
            raise ProviderError(f"WeChat Pay refused the order ({status}): {_provider_message(text)}")
        try:
            return json.loads(text)["code_url"]
        except (ValueError, KeyError, TypeError):
            raise ProviderError("WeChat Pay answered without a code_url") from None

    def notification(self, headers, body: bytes, now: datetime) -> dict | None:
        """The decrypted transaction of a verified TRANSACTION.SUCCESS notification;
        None for a verified notification of another kind (acknowledged, no effect).
        BadNotification when it does not verify, is stale or does not decrypt."""
        serial = headers.get("Wechatpay-Serial", "")
        if serial != self.settings.public_key_id:  # never let the SDK fetch certificates for it
            raise BadNotification("Wechatpay-Serial names no key of ours")
        if not qr.notification_fresh(headers.get("Wechatpay-Timestamp", ""), now):
            raise BadNotification("Wechatpay-Timestamp is missing or more than 5 minutes away")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadNotification("the body is not UTF-8", status=400) from None
        try:
            verified = self.sdk._core._verify_signature(headers, text)
        except Exception:  # a signature type it does not know
            verified = False
        if not verified:
            raise BadNotification("Wechatpay-Signature does not verify")
        try:
            envelope = json.loads(text)
        except ValueError:
            raise BadNotification("the body is not JSON", status=400) from None
        if not isinstance(envelope, dict) or envelope.get("event_type") != "TRANSACTION.SUCCESS":
            return None
        try:
            plain = self.sdk.decrypt_callback(headers, text)  # verifies again, then AES-256-GCM
        except Exception:  # an algorithm it does not know
            plain = None
        if not plain:
            raise BadNotification("the resource does not decrypt with the APIv3 key", status=400)
        try:
            return json.loads(plain)
        except ValueError:
            raise BadNotification("the decrypted resource is not JSON", status=400) from None


def _provider_message(text) -> str:
    try:
        answer = json.loads(text)
        return f"{answer.get('code')}: {answer.get('message')}"
    except (ValueError, TypeError, AttributeError):
        return "no message"
