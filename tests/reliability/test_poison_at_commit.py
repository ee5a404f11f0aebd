"""An event whose own effect the database refuses (a unique key), even when the
refusal only appears when the batch's rows are flushed at commit, is isolated from
its batch: retried with backoff, then dead-lettered, while the events around it
commit. Only a real loss of the database holds a batch back."""
import uuid

from shared.messaging import topology
from tests.support import events
from tests.support.bus import raw_get
from tests.support.wait import wait_for


def _dead_letter(services, service):
    message = wait_for(lambda: raw_get(services.amqp_uri, topology.dead_letter_queue(service)),
                       timeout=30, message=f"nothing reached {service}'s dead-letter queue")
    return message.properties["application_headers"], message.properties["message_id"]


def test_billing_dead_letters_a_second_order_for_an_enrollment_and_goes_on(services, bus):
    services.start("billing")
    sink = bus.sink("billing.order-opened")
    first = events.enrolled("张伟")
    bus.publish(first)
    sink.expect("billing.order-opened")

    # The same facts under a new event id: not a redelivery (the inbox would drop
    # it) but a second effect, which the unique key refuses when the batch flushes.
    second_order = events.enrolled("张伟", enrollment_id=uuid.UUID(first.data["enrollment_id"]),
                                   learner_id=uuid.UUID(first.data["learner_id"]))
    behind = events.enrolled("王静")
    bus.publish(second_order)
    bus.publish(behind)

    sink.expect("billing.order-opened", where=lambda e: str(e.data["enrollment_id"]) == behind.data["enrollment_id"])
    headers, message_id = _dead_letter(services, "billing")
    assert message_id == str(second_order.id)
    assert headers["x-cea-attempts"] == 4 and headers["x-cea-reason"] == "gave-up"
    assert "IntegrityError" in headers["x-cea-error-type"] + headers["x-cea-error"]
    clerk = services.client("billing", "finance_clerk")
    orders = clerk.get(f"/billing/enrollments/{first.data['enrollment_id']}/orders")
    assert orders.status_code == 200 and len(orders.json()["items"]) == 1


def test_learning_dead_letters_a_second_account_for_an_enrollment_and_goes_on(services, bus):
    services.start("learning")
    sink = bus.sink("learning.account-opened")
    first = events.enrolled("陈洋")
    bus.publish(first)
    payment = events.paid(first)
    bus.publish(payment)
    sink.expect("learning.account-opened")

    second_account = events.paid(first)  # another payment event for the same enrollment
    behind = events.enrolled("杨磊")
    bus.publish(second_account)
    bus.publish(behind)
    bus.publish(events.paid(behind))

    sink.expect("learning.account-opened",
                where=lambda e: str(e.data["enrollment_id"]) == behind.data["enrollment_id"])
    headers, message_id = _dead_letter(services, "learning")
    assert message_id == str(second_account.id)
    assert headers["x-cea-attempts"] == 4 and headers["x-cea-reason"] == "gave-up"
    assert "IntegrityError" in headers["x-cea-error-type"] + headers["x-cea-error"]
