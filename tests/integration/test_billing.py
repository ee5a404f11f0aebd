"""Billing: orders from enrollments and signed QR payments, on the real broker and database."""
import uuid

from tests.support import payments, people


def _enroll(services, level="L4"):
    services.client("enrollment", "admin").post("/enrollment/bases", people.base("B001"))
    operator = services.client("enrollment", "base_operator", base="B001")
    answer = operator.post("/enrollment/enrollments", people.application(level=level))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_signed_notification_pays_once_and_bad_ones_change_nothing(services, bus):
    sink = bus.sink("billing.paid", "billing.order-opened")
    services.start("enrollment")
    services.start("billing")
    enrollment = _enroll(services)
    order_id = sink.expect("billing.order-opened").data["order_id"]
    provider = services.anonymous("billing")

    forged = payments.notify(provider, order_id, 390000, "T-1", secret="wrong-secret")
    assert forged.status_code == 401
    assert forged.headers["Content-Type"] == "application/problem+json"

    short = payments.notify(provider, order_id, 380000, "T-2")
    assert short.json()["settlement"] == "wrong_amount"

    paid = payments.notify(provider, order_id, 390000, "T-3")
    again = payments.notify(provider, order_id, 390000, "T-3")
    assert (paid.json()["settlement"], again.json()["settlement"]) == ("applied", "duplicate")
    second = payments.notify(provider, order_id, 390000, "T-4", provider="alipay")
    assert second.json()["settlement"] == "refund_due"

    event = sink.expect("billing.paid")
    assert str(event.data["enrollment_id"]) == enrollment["enrollment_id"]
    assert len(sink.drain(quiet=1.0) and sink.of_type("billing.paid")) == 1
    review = services.client("billing", "finance_clerk").get("/billing/review").json()["items"]
    assert sorted(i["reason"] for i in review) == ["refund_due", "wrong_amount"]
    order = services.client("billing", "finance_clerk").get(f"/billing/orders/{order_id}").json()
    assert order["status"] == "paid"


def test_unknown_provider_and_malformed_body_are_refused(services):
    services.start("billing")
    provider = services.anonymous("billing")
    body = payments.notification(uuid.uuid4(), 100, "T-9")
    assert provider.post("/billing/payments/qr/paypal", data=body,
                         headers=payments.sign(body, secret="x")).status_code == 401
    junk = b"{not json"
    answer = provider.post("/billing/payments/qr/wechat_pay", data=junk, headers=payments.sign(junk))
    assert answer.status_code == 400
    assert answer.json()["type"] == "/problems/malformed-body"
