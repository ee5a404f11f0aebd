"""WeChat Pay API v3 QR payments through billing's API, against the stand-in (its own
process) over the real broker and database: the SDK's own signing and verification
run both ways."""
import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization

from shared.dev.paystand import keys
from shared.dev.paystand.wechatpay import WeChatPayStandIn, encrypt_resource, sign
from tests.support import people
from tests.support.paystand import PayStand
from tests.support.processes import free_port

NOTIFY = "/billing/payments/wechatpay/notify"


@pytest.fixture
def paystand(tmp_path):
    stand = PayStand(tmp_path).start()
    yield stand
    stand.stop()


def _billing(services, paystand):
    services.start("enrollment")
    services.start("billing", **paystand.billing_settings(free_port()))


def _open_order(services, sink):
    services.client("enrollment", "admin").post("/enrollment/bases", people.base("B001"))
    operator = services.client("enrollment", "base_operator", base="B001")
    answer = operator.post("/enrollment/enrollments", people.application(level="L4"))
    assert answer.status_code == 201, answer.text
    order_id = sink.expect("billing.order-opened").data["order_id"]
    return services.client("billing", "finance_clerk").get(f"/billing/orders/{order_id}").json()


def _learner(services, order):
    return services.client("billing", "learner", subject=str(order["learner_id"]))


def _post(services, headers, body):
    return services.anonymous("billing").post(NOTIFY, data=body.encode() if isinstance(body, str) else body,
                                              headers=headers)


def test_a_learner_pays_by_wechatpay_once(services, bus, paystand):
    sink = bus.sink("billing.paid", "billing.order-opened")
    _billing(services, paystand)
    order = _open_order(services, sink)
    learner = _learner(services, order)

    asked = learner.post(f"/billing/orders/{order['order_id']}/qr/wechatpay")
    assert asked.status_code == 201, asked.text
    code = asked.json()
    assert code["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert code["out_trade_no"] == order["order_id"].replace("-", "")
    assert code["amount_fen"] == 390000 and "碳排放管理员" in code["description"]
    assert base64.b64decode(code["png_base64"]).startswith(b"\x89PNG")
    # Asking again, the learner or their base: the same code, no second provider order.
    again = learner.post(f"/billing/orders/{order['order_id']}/qr/wechatpay")
    by_base = services.client("billing", "base_operator", base="B001").post(
        f"/billing/orders/{order['order_id']}/qr/wechatpay")
    assert (again.status_code, by_base.status_code) == (200, 200)
    assert again.json()["code_url"] == by_base.json()["code_url"] == code["code_url"]
    other = services.client("billing", "learner", subject="00000000-0000-0000-0000-000000000001")
    assert other.post(f"/billing/orders/{order['order_id']}/qr/wechatpay").status_code == 404

    paid = paystand.pay(code["out_trade_no"])
    assert paid["delivered"]["status"] == 204, paid["delivered"]
    event = sink.expect("billing.paid")
    assert event.data["channel"] == "wechat_pay"
    assert event.data["payment_reference"] == paid["transaction_id"]
    assert event.data["amount_fen"] == 390000

    # WeChat Pay retries (the same notification again, and a second sending): one payment.
    notification = paid["notification"]
    assert _post(services, notification["headers"], notification["body"]).status_code == 204
    assert paystand.pay(code["out_trade_no"])["delivered"]["status"] == 204
    sink.drain(quiet=1.0)
    assert len(sink.of_type("billing.paid")) == 1
    clerk = services.client("billing", "finance_clerk")
    assert clerk.get(f"/billing/orders/{order['order_id']}").json()["status"] == "paid"
    assert clerk.get("/billing/review").json()["items"] == []
    # A paid order has nothing left to scan.
    assert learner.post(f"/billing/orders/{order['order_id']}/qr/wechatpay").status_code == 409


def test_forged_altered_stale_and_undecryptable_notifications_change_nothing(services, bus, paystand):
    sink = bus.sink("billing.paid", "billing.order-opened")
    _billing(services, paystand)
    order = _open_order(services, sink)
    code = _learner(services, order).post(f"/billing/orders/{order['order_id']}/qr/wechatpay").json()
    made = paystand.pay(code["out_trade_no"], send=False)["notification"]
    headers, body = made["headers"], made["body"]

    merchant_key = serialization.load_pem_private_key(
        paystand.keys.path(keys.MERCHANT_KEY).read_bytes(), password=None)  # not the platform's
    forged = {**headers, "Wechatpay-Signature": sign(
        merchant_key, f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n{body}\n")}
    altered = body.replace("支付成功", "支付成功 ")
    unknown_key = {**headers, "Wechatpay-Serial": "PUB_KEY_ID_SOMEONE_ELSE"}
    stale = paystand.pay(code["out_trade_no"], send=False,
                         timestamp=int(time.time()) - 6 * 60)["notification"]
    # Signed with the platform key, but encrypted with another APIv3 key.
    platform_key = serialization.load_pem_private_key(
        paystand.keys.path(keys.PLATFORM_PRIVATE).read_bytes(), password=None)
    envelope = json.loads(body)
    envelope["resource"] = encrypt_resource("x" * 32, json.dumps({"trade_state": "SUCCESS"}))
    wrong_key_body = json.dumps(envelope, ensure_ascii=False)
    now, nonce = str(int(time.time())), "N" * 32
    wrong_key = {**headers, "Wechatpay-Timestamp": now, "Wechatpay-Nonce": nonce,
                 "Wechatpay-Signature": sign(platform_key, f"{now}\n{nonce}\n{wrong_key_body}\n")}

    for label, (h, b, status) in {"forged": (forged, body, 401), "altered": (headers, altered, 401),
                                  "unknown key": (unknown_key, body, 401),
                                  "stale": (stale["headers"], stale["body"], 401),
                                  "other APIv3 key": (wrong_key, wrong_key_body, 400)}.items():
        answer = _post(services, h, b)
        assert answer.status_code == status, (label, answer.text)
        assert answer.json()["code"] == "FAIL", label

    sink.drain(quiet=1.0)
    assert sink.of_type("billing.paid") == []
    clerk = services.client("billing", "finance_clerk")
    assert clerk.get(f"/billing/orders/{order['order_id']}").json()["status"] == "open"
    assert clerk.get("/billing/review").json()["items"] == []
    # The genuine notification still pays: the refusals above were the checks, not the setup.
    assert _post(services, headers, body).status_code == 204
    assert str(sink.expect("billing.paid").data["order_id"]) == order["order_id"]


def test_signed_payments_that_do_not_fit_go_to_the_review_queue(services, bus, paystand):
    """Verified notifications settle by billing's one rule: a wrong amount or a number
    we never made waits for a clerk and pays nothing."""
    sink = bus.sink("billing.paid", "billing.order-opened")
    _billing(services, paystand)
    order = _open_order(services, sink)
    code = _learner(services, order).post(f"/billing/orders/{order['order_id']}/qr/wechatpay").json()
    provider = WeChatPayStandIn(paystand.keys)  # signs and encrypts as the stand-in process does
    base = {"appid": keys.DEV_APPID, "mchid": keys.DEV_MCHID, "trade_type": "NATIVE", "trade_state": "SUCCESS",
            "success_time": "2026-11-29T10:00:00+08:00"}
    short = provider.notification({**base, "out_trade_no": code["out_trade_no"], "transaction_id": "4200-short",
                                   "amount": {"total": 380000, "currency": "CNY"}})
    unknown = provider.notification({**base, "out_trade_no": "0" * 32, "transaction_id": "4200-unknown",
                                     "amount": {"total": 390000, "currency": "CNY"}})
    for headers, body in (short, unknown):
        assert _post(services, headers, body).status_code == 204
    sink.drain(quiet=1.0)
    assert sink.of_type("billing.paid") == []
    review = services.client("billing", "finance_clerk").get("/billing/review").json()["items"]
    assert sorted(i["reason"] for i in review) == ["unknown_order", "wrong_amount"]


def test_no_code_and_nothing_recorded_when_wechatpay_cannot_be_reached(services, bus):
    sink = bus.sink("billing.order-opened")
    services.start("enrollment")
    services.start("billing")  # the test keys, and a WeChat Pay address nothing answers
    order = _open_order(services, sink)
    learner = _learner(services, order)
    answer = learner.post(f"/billing/orders/{order['order_id']}/qr/wechatpay")
    assert answer.status_code == 503, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
