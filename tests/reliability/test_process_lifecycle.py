"""A service process as its supervisor sees it: one process per port, a clean and
quick stop on SIGTERM that loses and repeats nothing, and a non-zero exit when a
loop cannot go on (never a live process that only answers 500)."""
import time

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from services.billing.models import Order
from shared.messaging import topology
from tests.support import events, infra
from tests.support.bus import raw_get
from tests.support.wait import wait_for

BILLING = "services.billing.service:BillingService"


def _count(database_url, stmt):
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as conn:
            return conn.scalar(stmt)
    finally:
        engine.dispose()


def test_a_second_process_on_a_taken_port_fails_plainly(process_factory):
    first = process_factory(BILLING, "billing", label="first").start()
    second = process_factory(BILLING, "billing", label="second")
    second.port = first.port
    second.config["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{first.port}"
    second.start(wait_ready=False)
    assert second.process.wait(timeout=60) == 2
    assert f"127.0.0.1:{first.port} is taken by another process" in second.log()
    # The port still belongs to the first alone: every probe answers from it.
    assert all(requests.get(first.url + "/health/ready", timeout=5).status_code == 200 for _ in range(20))


def test_sigterm_finishes_or_releases_the_batch_in_hand(process_factory, bus, services, vhost):
    sent = [events.enrolled(f"学员{i}") for i in range(1500)]
    for event in sent:
        bus.publish(event)
    billing = process_factory(BILLING, "billing").start()
    url = services.database_urls["billing"]
    wait_for(lambda: _count(url, select(func.count()).select_from(Order)) > 0, timeout=30)

    started = time.monotonic()
    assert billing.stop() == 0
    assert time.monotonic() - started < 10

    billing.start()
    wait_for(lambda: _count(url, select(func.count()).select_from(Order)) == len(sent), timeout=60,
             message="orders lost across the stop")
    assert _count(url, select(func.count(func.distinct(Order.enrollment_id)))) == len(sent)
    assert _count(url, text("SELECT count(*) FROM inbox")) == len(sent)
    wait_for(lambda: infra.queue_info(vhost, topology.service_queue("billing"))["messages"] == 0, timeout=30)
    assert raw_get(services.amqp_uri, topology.dead_letter_queue("billing")) is None


def test_a_loop_that_cannot_go_on_ends_the_process_with_an_error(process_factory, services, backend):
    """A broken schema (not an outage) makes the outbox relay fail: the process exits
    non-zero for its supervisor to restart, instead of living on half-dead."""
    if backend != "postgresql":
        pytest.skip("SQLite reports a missing table as an OperationalError, like an outage")
    billing = process_factory(BILLING, "billing").start()
    engine = create_engine(services.database_urls["billing"].replace("postgresql://", "postgresql+psycopg2://"))
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE outbox"))
    engine.dispose()
    billing.process.wait(timeout=30)
    assert billing.process.returncode == 1
    assert "outbox-relay cannot go on" in billing.log()
