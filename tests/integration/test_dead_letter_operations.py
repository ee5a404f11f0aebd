"""Operators list, show, replay and discard dead letters (architecture.md, Delivery 4)."""
from shared.ops.deadletters import DeadLetters
from tests.support import events
from tests.support.wait import wait_for


def test_a_dead_lettered_payment_is_replayed_once_its_enrollment_is_known(services, bus):
    """billing.paid reached learning for an enrollment it never heard of; it gave up.
    Once the enrollment is known the operator replays it and the account opens."""
    sink = bus.sink("learning.account-opened")
    services.start("learning", DEFER_MAX_ATTEMPTS=2)
    lost = events.enrolled()
    payment = events.paid(lost)
    bus.publish(payment)
    junk = events.enrolled()
    bus.publish(junk, body=b"not an event")

    def dead_letters():
        with DeadLetters(services.amqp_uri, "learning") as dlq:
            found = dlq.fetch()
        return found if len(found) == 2 else None

    letters = {d.message_id: d for d in wait_for(dead_letters, timeout=30)}
    assert letters[str(payment.id)].headers["x-cea-reason"] == "gave-up"
    assert "Defer" in letters[str(payment.id)].error

    bus.publish(lost)  # the projection arrives (late)
    with DeadLetters(services.amqp_uri, "learning") as dlq:
        for letter in dlq.fetch():
            if letter.message_id == str(payment.id):
                dlq.replay(letter)
            else:
                dlq.discard(letter)
    opened = sink.expect("learning.account-opened", timeout=30)
    assert str(opened.data["enrollment_id"]) == lost.data["enrollment_id"]
    with DeadLetters(services.amqp_uri, "learning") as dlq:
        assert dlq.fetch() == []
