"""Orders after they open: cancellation, QR payments arriving twice or late, retake
orders — through the event handlers and the API, real broker and database."""
from tests.support import events, payments
from tests.support.billing_helpers import enroll, order_of, statement, upload
from tests.support.events import cancelled, retake_required
from tests.support.wait import wait_for


def test_a_cancelled_enrollment_closes_its_order_and_a_later_payment_is_a_refund_due(services, bus):
    sink = bus.sink("billing.paid")
    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    event = enroll(bus, "孙丽")
    order = order_of(clerk, event)
    bus.publish(cancelled(event))
    wait_for(lambda: clerk.get(f"/billing/orders/{order['order_id']}").json()["status"] == "cancelled")
    assert clerk.get(f"/billing/orders/{order['order_id']}").json()["closed_at"]

    late = payments.notify(services.anonymous("billing"), order["order_id"], 390000, "WX-LATE")
    assert late.json()["settlement"] == "refund_due"
    by_bank = upload(clerk, statement([("C1", "3900", "孙丽—碳排放管理员")])).json()
    assert by_bank["counts"] == {"order_closed": 1}
    assert [i["reason"] for i in clerk.get("/billing/review").json()["items"]] == ["refund_due", "refund_due"]
    assert clerk.get(f"/billing/orders/{order['order_id']}").json()["status"] == "cancelled"
    assert sink.drain(quiet=1.0) == []


def test_cancellation_that_arrives_before_the_order_waits_for_it(services, bus):
    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    enrolled = events.enrolled(full_name="周杰")
    bus.publish(cancelled(enrolled))  # before enrollment.enrolled reached billing
    bus.publish(enrolled)
    order = order_of(clerk, enrolled)
    wait_for(lambda: clerk.get(f"/billing/orders/{order['order_id']}").json()["status"] == "cancelled",
             timeout=20)


def test_late_and_duplicate_notifications_change_nothing_once_paid(services, bus):
    sink = bus.sink("billing.paid")
    services.start("billing")
    clerk = services.client("billing", "finance_clerk")
    order = order_of(clerk, enroll(bus, "吴敏"))
    provider = services.anonymous("billing")
    assert payments.notify(provider, order["order_id"], 390000, "WX-A").json()["settlement"] == "applied"
    first = clerk.get(f"/billing/orders/{order['order_id']}").json()

    assert payments.notify(provider, order["order_id"], 390000, "WX-A").json()["settlement"] == "duplicate"
    second = payments.notify(provider, order["order_id"], 390000, "AP-B", provider="alipay")
    assert second.json()["settlement"] == "refund_due"
    by_bank = upload(clerk, statement([("D1", "3900", "吴敏—碳排放管理员")])).json()
    assert by_bank["counts"] == {"already_paid": 1}

    assert clerk.get(f"/billing/orders/{order['order_id']}").json() == first  # paid_at, payment unchanged
    assert len(sink.drain(quiet=1.0) and sink.of_type("billing.paid")) == 1
    reasons = [i["reason"] for i in clerk.get("/billing/review").json()["items"]]
    assert reasons == ["refund_due", "refund_due"]


def test_a_retake_order_opens_once_per_attempt_and_its_payment_emits_retake_paid(services, bus):
    sink = bus.sink("billing.paid", "billing.retake-paid")
    services.start("billing", RETAKE_FEE_FEN=60000)
    clerk = services.client("billing", "finance_clerk")
    learner_event = events.enrolled(full_name="郑强")
    bus.publish(retake_required(learner_event, attempt=3))  # before the fee's order: it waits for it
    bus.publish(learner_event)
    order = order_of(clerk, learner_event)
    payments.notify(services.anonymous("billing"), order["order_id"], 390000, "WX-FEE")
    sink.expect("billing.paid")
    bus.publish(retake_required(learner_event, attempt=3))  # asked twice: still one order
    bus.publish(retake_required(learner_event, attempt=4))

    path = f"/billing/enrollments/{learner_event.data['enrollment_id']}/orders"
    orders = wait_for(lambda: (o := clerk.get(path).json()["items"]) and len(o) == 3 and o, timeout=20)
    fee, retake3, retake4 = orders
    assert (fee["kind"], retake3["kind"], retake3["retake_attempt"], retake4["retake_attempt"]) == \
        ("enrollment", "retake", 3, 4)
    assert retake3["amount_fen"] == 60000 and retake3["payment_remark"] == "郑强—碳排放管理员补考"
    assert sink.drain(quiet=1.0) and len(clerk.get(path).json()["items"]) == 3

    paid = payments.notify(services.anonymous("billing"), retake3["order_id"], 60000, "WX-R3")
    assert paid.json()["settlement"] == "applied"
    event = sink.expect("billing.retake-paid")
    assert (event.data["attempt_number"], event.data["amount_fen"]) == (3, 60000)
    by_bank = upload(clerk, statement([("R4", "600.00", "郑强 碳排放管理员补考")])).json()
    assert by_bank["counts"] == {"matched": 1}
    assert sink.expect("billing.retake-paid", where=lambda e: e.data["attempt_number"] == 4)
    assert len(sink.drain(quiet=1.0) and sink.of_type("billing.paid")) == 1
    learner = services.client("billing", "learner", subject=str(learner_event.data["learner_id"]))
    assert len(learner.get(path).json()["items"]) == 3
    assert services.client("billing", "base_operator", base="B999").get(path).status_code == 404
