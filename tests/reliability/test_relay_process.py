"""The outbox relay as a process of its own (shared/messaging/relay_process.py): the
same guarantees as the relay inside a service. Every committed event is published,
confirmed before it counts; a killed relay loses nothing; two relays on one
database publish each row once; it outlives its database's outage and stops on
SIGTERM within the stop timeout."""
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

import pytest
import requests
import yaml
from sqlalchemy import create_engine, text

from tests.support import events
from tests.support.forwarder import ClosableDatabase
from tests.support.processes import ROOT, free_port
from tests.support.wait import wait_for

N = 400


class Relay:
    def __init__(self, tmp_path, config: dict, label="relay"):
        self.port = free_port()
        self.path = tmp_path / f"{label}.yaml"
        self.path.write_text(yaml.safe_dump({**config, "RELAY_HTTP": f"127.0.0.1:{self.port}"}))
        self.log = tmp_path / f"{label}.log"
        self.process = None

    def start(self):
        self.process = subprocess.Popen([sys.executable, "-m", "shared.messaging.relay_process", "--config",
                                         str(self.path), "billing"], cwd=ROOT, stdout=open(self.log, "ab"),
                                        stderr=subprocess.STDOUT)
        return self

    def probe(self, path):
        try:
            return requests.get(f"http://127.0.0.1:{self.port}{path}", timeout=3).status_code
        except requests.RequestException:
            return None

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _unpublished(database_url):
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
    finally:
        engine.dispose()


@pytest.fixture
def billing_without_relay(services, bus):
    """Billing handling N enrollments with its own relay off: N events in its outbox."""
    def start(**overrides):
        services.start("billing", OUTBOX_RELAY="false", **overrides)
        for i in range(N):
            bus.publish(events.enrolled(f"学员{i}"))
        url = services.database_urls["billing"]
        wait_for(lambda: _unpublished(url) == N, timeout=60, message="billing did not handle the events")
        return services.config("billing", **overrides)
    return start


def _add_unconsumed_event(database_url) -> str:
    """An outbox row of a type no service consumes (identity.login-opened is a fact
    for the audit only): the broker has no queue to route it to."""
    event_id = str(uuid.uuid4())
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO outbox (event_id, type, version, correlation_id, occurred_at, body, publish_attempts)"
                " VALUES (:id, 'identity.login-opened', 1, :id, :at, '{}', 0)"),
                {"id": event_id, "at": datetime.now(timezone.utc)})
    finally:
        engine.dispose()
    return event_id


def _attempts(database_url, event_id):
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT published_at IS NOT NULL, publish_attempts FROM outbox"
                                     " WHERE event_id = :id"), {"id": event_id}).one()
    finally:
        engine.dispose()


def _ids(sink):
    return [e.id for e in sink.drain(quiet=1.0) if e.type == "billing.order-opened"]


def test_the_relay_process_publishes_every_committed_event_once(tmp_path, services, bus, billing_without_relay):
    sink = bus.sink("billing.order-opened")
    relay = Relay(tmp_path, billing_without_relay()).start()
    try:
        wait_for(lambda: _unpublished(services.database_urls["billing"]) == 0, timeout=60)
        wait_for(lambda: relay.probe("/health/ready") == 200, timeout=30)
        published = _ids(sink)
        assert len(published) == len(set(published)) == N
        assert relay.probe("/health/live") == 200
        started = time.monotonic()
        relay.process.send_signal(signal.SIGTERM)
        assert relay.process.wait(timeout=15) == 0
        assert time.monotonic() - started < 10
    finally:
        relay.kill()


def test_a_killed_relay_process_loses_nothing(tmp_path, services, bus, billing_without_relay):
    sink = bus.sink("billing.order-opened")
    config = billing_without_relay()
    url = services.database_urls["billing"]
    config = {**config, "OUTBOX_LEASE_SECONDS": "3"}  # a dead relay's claims come back soon
    first = Relay(tmp_path, {**config, "OUTBOX_BATCH": "20", "OUTBOX_WINDOW": "40"}, "first").start()
    wait_for(lambda: _unpublished(url) < N, timeout=60, message="the relay never published")
    first.kill()  # SIGKILL: claims held, confirms unrecorded
    second = Relay(tmp_path, config, "second").start()
    try:
        # What the first had claimed comes back when its lease runs out (or at once,
        # had it been given back); here the second publishes everything left.
        wait_for(lambda: _unpublished(url) == 0, timeout=60, message="rows of the killed relay stranded")
        published = set(_ids(sink))
        assert len(published) == N  # every event; a duplicate or two is the inboxes' to drop
    finally:
        second.kill()


def test_two_relay_processes_publish_each_row_once(tmp_path, services, bus, billing_without_relay, backend):
    if backend != "postgresql":
        pytest.skip("relay replicas share a PostgreSQL database (FOR UPDATE SKIP LOCKED)")
    sink = bus.sink("billing.order-opened")
    config = {**billing_without_relay(), "OUTBOX_BATCH": "10", "OUTBOX_WINDOW": "20"}
    relays = [Relay(tmp_path, config, f"r{i}").start() for i in range(2)]
    try:
        wait_for(lambda: _unpublished(services.database_urls["billing"]) == 0, timeout=120)
        published = _ids(sink)
        assert len(published) == len(set(published)) == N
    finally:
        for relay in relays:
            relay.kill()


def test_the_relay_process_outlives_a_database_outage(tmp_path, services, bus, billing_without_relay, backend):
    if backend != "postgresql":
        pytest.skip("the outage is a PostgreSQL forwarder closed and opened")
    config = billing_without_relay()
    database = ClosableDatabase(config["DATABASE_URL"], port=free_port())
    sink = bus.sink("billing.order-opened")
    relay = Relay(tmp_path, {**config, "DATABASE_URL": database.url}).start()
    try:
        wait_for(lambda: relay.probe("/health/ready") == 200, timeout=30)
        assert relay.probe("/relay/alarm") == 200  # what its service asks (test_broker_alarm.py)
        database.close()
        bus.publish(events.enrolled("停电后"))  # billing commits it; the relay cannot read it yet
        wait_for(lambda: relay.probe("/health/ready") == 503, timeout=30, message="ready without its database")
        assert relay.probe("/health/live") == 200
        time.sleep(3)  # the outage's length
        database.open()
        wait_for(lambda: relay.probe("/health/ready") == 200, timeout=30)
        wait_for(lambda: _unpublished(config["DATABASE_URL"]) == 0, timeout=60)
        assert len(set(_ids(sink))) == N + 1
        assert relay.process.poll() is None
    finally:
        relay.kill()
        database.stop()


def test_an_event_no_service_consumes_is_published_once_by_the_relay_process(tmp_path, services, bus,
                                                                             billing_without_relay):
    # Published as mandatory it came back unroutable, was counted as failed and sent
    # again forever: identity's login and notice events never left its outbox.
    config = billing_without_relay()
    url = services.database_urls["billing"]
    unconsumed = _add_unconsumed_event(url)
    relay = Relay(tmp_path, config).start()
    try:
        wait_for(lambda: _unpublished(url) == 0, timeout=60, message="rows left unpublished")
        assert _attempts(url, unconsumed) == (True, 1)
    finally:
        relay.kill()


def test_an_event_no_service_consumes_is_published_once_by_the_relay_in_a_service(services, bus):
    services.start("billing")
    url = services.database_urls["billing"]
    unconsumed = _add_unconsumed_event(url)
    wait_for(lambda: _attempts(url, unconsumed)[0], timeout=30, message="the relay never published it")
    assert _attempts(url, unconsumed) == (True, 1)
