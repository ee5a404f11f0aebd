"""WeChat Pay's pure parts: the order number, description and expiry of a code, a
notification's freshness and what a paid transaction reports; and the channel's
verification of a notification (no network: made by the stand-in's own signer)."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.billing.channels.wechatpay import BadNotification, Settings, WeChatPayChannel
from services.billing.domain import qr
from shared.dev.paystand import keys
from shared.dev.paystand.wechatpay import WeChatPayStandIn

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=timezone.utc)
PAID = {"appid": keys.DEV_APPID, "mchid": keys.DEV_MCHID, "out_trade_no": "a" * 32, "trade_state": "SUCCESS",
        "transaction_id": "4200000001", "amount": {"total": 390000, "currency": "CNY"},
        "success_time": "2026-11-29T14:00:00+08:00"}


def test_the_out_trade_number_is_the_order_id_in_32_hexadecimal_digits():
    order_id = uuid.uuid4()
    assert qr.out_trade_no(order_id) == order_id.hex and len(qr.out_trade_no(str(order_id))) == 32


def test_the_description_names_the_program_and_fits_wechat_pay():
    for kind in ("enrollment", "retake"):
        text = qr.description(kind, "L3")
        assert "碳排放管理员" in text and "L3" in text and len(text) <= 127
    assert "补考" in qr.description("retake", "L4") and "补考" not in qr.description("enrollment", "L4")


def test_a_code_expires_after_its_validity_never_after_the_order():
    assert qr.code_expiry(NOW, timedelta(hours=2)) == NOW + timedelta(hours=2)
    assert qr.code_expiry(NOW, timedelta(hours=2), NOW + timedelta(minutes=30)) == NOW + timedelta(minutes=30)
    assert qr.rfc3339(NOW) == "2026-11-29T14:00:00+08:00"


@pytest.mark.parametrize("offset,fresh", [(0, True), (-300, True), (-301, False), (301, False), (120, True)])
def test_a_notification_is_fresh_within_five_minutes(offset, fresh):
    assert qr.notification_fresh(str(int(NOW.timestamp()) + offset), NOW) is fresh


@pytest.mark.parametrize("stamp", ["", "abc", "-5", "1e9"])
def test_a_timestamp_that_is_no_number_is_not_fresh(stamp):
    assert qr.notification_fresh(stamp, NOW) is False


def test_a_paid_transaction_reports_number_reference_amount_and_time():
    paid = qr.paid_transaction(PAID, keys.DEV_MCHID, keys.DEV_APPID)
    assert paid == qr.PaidTransaction("a" * 32, "4200000001", 390000, NOW)


@pytest.mark.parametrize("change", [
    {"mchid": "1900000002"}, {"appid": "wx-other"}, {"trade_state": "NOTPAY"},
    {"amount": {"total": 390000.0}}, {"amount": {"total": True}}, {"amount": {"total": 1, "currency": "USD"}},
    {"transaction_id": ""}, {"out_trade_no": None}, {"success_time": "2026-11-29T14:00:00"},
    {"success_time": "yesterday"}])
def test_anything_else_is_not_a_payment(change):
    with pytest.raises(qr.NotPaid):
        qr.paid_transaction({**PAID, **change}, keys.DEV_MCHID, keys.DEV_APPID)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    files = keys.ensure(tmp_path_factory.mktemp("wechatpay"))
    config = {"WECHATPAY_MCHID": keys.DEV_MCHID, "WECHATPAY_APPID": keys.DEV_APPID,
              "WECHATPAY_MERCHANT_CERT_FILE": str(files.path(keys.MERCHANT_CERT)),
              "WECHATPAY_PRIVATE_KEY_FILE": str(files.path(keys.MERCHANT_KEY)),
              "WECHATPAY_APIV3_KEY_FILE": str(files.path(keys.APIV3_KEY)),
              "WECHATPAY_PUBLIC_KEY_FILE": str(files.path(keys.PLATFORM_PUBLIC)),
              "WECHATPAY_PUBLIC_KEY_ID": keys.DEV_PUBLIC_KEY_ID,
              "WECHATPAY_BASE_URL": "http://127.0.0.1:9", "WECHATPAY_NOTIFY_URL": "http://127.0.0.1:9/n"}
    return WeChatPayStandIn(files), WeChatPayChannel(Settings.from_config(config)), config


def test_the_serial_defaults_to_the_merchant_certificates(pair):
    provider, channel, _ = pair
    assert channel.settings.cert_serial == provider.merchant_serial


def test_a_genuine_notification_verifies_and_decrypts(pair):
    provider, channel, _ = pair
    headers, body = provider.notification(PAID)
    assert channel.notification(headers, body.encode(), datetime.now(timezone.utc)) == PAID


def test_altered_stale_or_foreign_notifications_are_refused(pair):
    provider, channel, _ = pair
    headers, body = provider.notification(PAID)
    now = datetime.now(timezone.utc)
    cases = [(headers, body.replace('"支付成功"', '"支付成功!"')),
             ({**headers, "Wechatpay-Serial": "PUB_KEY_ID_OTHER"}, body),
             ({**headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, body),
             ({**headers, "Wechatpay-Signature": "not base64!"}, body)]
    for h, b in cases:
        with pytest.raises(BadNotification):
            channel.notification(h, b.encode(), now)
    with pytest.raises(BadNotification, match="5 minutes"):
        channel.notification(headers, body.encode(), now + timedelta(minutes=6))


def test_a_verified_notification_of_another_kind_is_acknowledged_without_effect(pair):
    provider, channel, _ = pair
    body = json.dumps({"id": "1", "event_type": "REFUND.SUCCESS", "resource_type": "encrypt-resource"})
    headers = provider.signature_headers(body)
    assert channel.notification(headers, body.encode(), datetime.now(timezone.utc)) is None


def test_settings_missing_or_unreadable_say_which(pair):
    from services.billing.channels.wechatpay import ChannelNotConfigured
    _, _, config = pair
    with pytest.raises(ChannelNotConfigured, match="PRIVATE_KEY_FILE"):
        Settings.from_config({**config, "WECHATPAY_PRIVATE_KEY_FILE": "/nonexistent/key.pem"})
    with pytest.raises(ChannelNotConfigured, match="mchid"):
        Settings.from_config({**config, "WECHATPAY_MCHID": ""})
    with pytest.raises(ChannelNotConfigured, match="32 bytes"):
        Settings.from_config({**config, "WECHATPAY_APIV3_KEY": "short"})
