"""architecture.md, "Delivery": each guarantee against the real broker, with
real processes where the guarantee is about a crash."""
from pathlib import Path

import pytest
import requests

from shared.messaging import topology
from tests.reliability.conftest import PROBE, effect_rows, enrolled
from tests.support import infra, people
from tests.support.bus import raw_get
from tests.support.services import Client
from tests.support.wait import wait_for
from shared.tokens import mint


def test_committed_event_survives_a_crash_before_publishing(process_factory, bus, keys):
    """Outbox: commit with the relay stopped, kill the process, restart: the event
    arrives, once."""
    sink = bus.sink("enrollment.enrolled")
    service = process_factory("services.enrollment.service:EnrollmentService", "enrollment")
    service.start(OUTBOX_RELAY="false")
    admin = Client(service.url, mint(keys.private, "admin"))
    assert admin.post("/enrollment/bases", people.base("B001")).status_code == 201
    operator = Client(service.url, mint(keys.private, "base_operator", base="B001"))
    created = operator.post("/enrollment/enrollments", people.application())
    assert created.status_code == 201
    service.kill()
    assert sink.drain(quiet=1.0) == []  # committed, never published

    service.start(OUTBOX_RELAY="true")
    event = sink.expect("enrollment.enrolled")
    assert str(event.data["enrollment_id"]) == created.json()["enrollment_id"]
    sink.drain(quiet=1.0)
    assert len(sink.of_type("enrollment.enrolled")) == 1


def test_a_redelivered_event_has_one_effect(services, bus):
    """Inbox: the same event delivered twice, one effect."""
    services.start("billing")
    sink = bus.sink("billing.order-opened")
    event = enrolled()
    bus.publish(event)
    bus.publish(event)
    opened = sink.expect("billing.order-opened")
    bus.publish(enrolled())  # a later event: once it is through, the duplicate was too
    sink.expect("billing.order-opened", where=lambda e: e.id != opened.id)
    assert [str(e.data["enrollment_id"]) for e in sink.of_type("billing.order-opened")].count(
        event.data["enrollment_id"]) == 1
    clerk = services.client("billing", "finance_clerk")
    order = clerk.get(f"/billing/enrollments/{event.data['enrollment_id']}/order")
    assert order.status_code == 200


def test_a_consumer_killed_mid_handler_gets_the_message_again(process_factory, bus, tmp_path, services):
    """Ack after commit: kill the consumer inside its handler (transaction open);
    the broker redelivers and the effect happens once."""
    block = tmp_path / "block"
    probe = process_factory(PROBE, "probe")
    probe.start(BLOCK_FILE=str(block))
    event = enrolled()
    bus.publish(event)
    wait_for(lambda: Path(str(block) + ".entered").exists(), message="handler never entered")
    probe.kill()

    probe.config.pop("BLOCK_FILE")
    probe.start(REDELIVERY_RUN="1")
    rows = wait_for(lambda: effect_rows(services.database_urls["probe"], event.id))
    assert len(rows) == 1 and rows[0].redelivered


def test_a_failing_handler_is_retried_then_dead_lettered_without_blocking_the_queue(services, bus, vhost):
    services.start(_probe())
    poison, fine = enrolled("POISON"), enrolled("李四")
    bus.publish(poison, headers={"x-trace": "kept"})
    bus.publish(fine)
    # The message behind the poison is handled while the poison is retried.
    wait_for(lambda: effect_rows(services.database_urls["probe"], fine.id))

    dead_letter = topology.dead_letter_queue("probe")
    message = wait_for(lambda: raw_get(services.amqp_uri, dead_letter), timeout=20)
    headers = message.properties["application_headers"]
    assert headers["x-cea-attempts"] == 4  # RETRY_DELAYS of the tests: 3 delays, 4 attempts
    assert "this event always fails" in headers["x-cea-error"]
    assert headers["x-cea-reason"] == "gave-up"
    assert headers["x-trace"] == "kept"
    assert message.properties["message_id"] == str(poison.id)
    assert effect_rows(services.database_urls["probe"], poison.id) == []


def test_an_invalid_event_is_dead_lettered_with_its_validation_error(services, bus):
    services.start(_probe())
    good = enrolled()
    broken = enrolled()
    body = bytes(__import__("shared.contracts", fromlist=["encode"]).encode(broken)).replace(
        b'"level":"L4"', b'"level":"L9"')
    bus.publish(broken, body=body)
    bus.publish(broken, body=b"\xff not json", routing_key="enrollment.enrolled")
    bus.publish(good)
    wait_for(lambda: effect_rows(services.database_urls["probe"], good.id))

    dead = [wait_for(lambda: raw_get(services.amqp_uri, "probe.dead-letter")) for _ in range(2)]
    errors = sorted(m.properties["application_headers"]["x-cea-error"] for m in dead)
    assert any("level" in e and "L9" in e for e in errors), errors  # the field and its bad value
    assert any("not JSON" in e for e in errors), errors
    assert all(m.properties["application_headers"]["x-cea-reason"] == "invalid" for m in dead)
    assert all(m.properties["application_headers"]["x-cea-attempts"] == 1 for m in dead)


def test_services_reconnect_after_losing_the_broker(services, bus, vhost):
    """Survive the broker: every connection of the vhost is closed by force; the
    service reconnects and nothing published meanwhile is lost."""
    services.start("billing")
    sink = bus.sink("billing.order-opened")
    bus.publish(enrolled())
    sink.expect("billing.order-opened")

    def service_connections():  # the management API lists connections a little late
        listed = requests.get(f"{infra.RABBIT_API}/vhosts/{vhost}/connections",
                              auth=infra.RABBIT_AUTH, timeout=10).json()
        named = [c for c in listed if c.get("client_properties", {}).get("connection_name", "")
                 .startswith("billing")]
        return named if len(named) >= 2 else None  # the consumer's and the relay's

    for c in wait_for(service_connections, timeout=30):
        requests.delete(f"{infra.RABBIT_API}/connections/{c['name']}", auth=infra.RABBIT_AUTH, timeout=10)

    after = enrolled()
    bus.publish(after)
    sink.expect("billing.order-opened", timeout=30,
                where=lambda e: str(e.data["enrollment_id"]) == after.data["enrollment_id"])


def _probe():
    from tests.support.probe.service import ProbeService
    return ProbeService


def test_replicas_compete_for_events_and_never_publish_one_twice(services, bus, backend):
    """Replicas: two billing containers on one PostgreSQL database and one queue;
    every event is handled once and every outbox row is published once."""
    if backend != "postgresql":
        pytest.skip("replicas share a PostgreSQL database (FOR UPDATE SKIP LOCKED)")
    from nameko.containers import ServiceContainer
    from services.billing.service import BillingService
    services.start("billing", EVENT_BATCH_SIZE=10, OUTBOX_BATCH=10, OUTBOX_WINDOW=20)
    replica = ServiceContainer(BillingService, services.config("billing", EVENT_BATCH_SIZE=10,
                                                                OUTBOX_BATCH=10, OUTBOX_WINDOW=20))
    replica.start()
    try:
        sink = bus.sink("billing.order-opened")
        sent = [enrolled() for _ in range(300)]
        for event in sent:
            bus.publish(event)
        wanted = {e.data["enrollment_id"] for e in sent}
        wait_for(lambda: wanted <= {str(e.data["enrollment_id"]) for e in sink.drain(quiet=0.2)},
                 timeout=60)
        sink.drain(quiet=1.0)
        opened = sink.of_type("billing.order-opened")
        assert len(opened) == len({e.id for e in opened}) == 300
    finally:
        replica.stop()
