"""What a service's /metrics tells the people watching the queues (architecture.md,
"Operations"): handler latency per event type, dead letters per service, invalid
events by what was wrong, the outbox's oldest waiting event, its queues as the
broker counts them, readiness, and the process itself."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import MetaData, insert

from shared.contracts import encode
from shared.persistence.engine import make_engine
from shared.persistence.tables import add_messaging_tables
from tests.reliability.conftest import effect_rows, enrolled
from tests.support.wait import wait_for


@pytest.fixture
def probe(services):
    from tests.support.probe.service import ProbeService
    services.start(ProbeService)
    return services.url("probe")


def scrape(url) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of one scrape."""
    text = requests.get(url + "/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_handler_latency_is_measured_per_event_type(probe, services, bus):
    first, second = enrolled("王芳"), enrolled("李强")
    bus.publish(first)
    bus.publish(second)
    wait_for(lambda: effect_rows(services.database_urls["probe"], second.id))
    samples = wait_for(lambda: (s := scrape(probe)) and value(
        s, "cea_event_handler_seconds_count", type="enrollment.enrolled") == 2 and s)
    assert value(samples, "cea_event_handler_seconds_sum", type="enrollment.enrolled") > 0
    assert value(samples, "cea_event_handler_seconds_bucket", type="enrollment.enrolled", le="+Inf") == 2


def test_invalid_events_are_counted_by_what_was_wrong_and_dead_letters_per_service(probe, services, bus):
    claims = enrolled()
    bad_data = encode(claims).replace(b'"level":"L4"', b'"level":"L9"')
    bus.publish(claims, body=bad_data)                                     # a known type, wrong data
    bus.publish(claims, body=b"\xff not json", routing_key="enrollment.enrolled")
    bus.publish(enrolled("POISON"))                                        # fails until it gives up

    def settled():
        s = scrape(probe)
        return s if value(s, "cea_dead_letters") == 3 and value(
            s, "cea_dead_lettered_total", type="enrollment.enrolled", reason="gave-up") == 1 else None

    samples = wait_for(settled, timeout=30, message="the dead letters were not counted")
    assert value(samples, "cea_invalid_events_total", type="enrollment.enrolled", problem="data") == 1
    assert value(samples, "cea_invalid_events_total", type="unknown", problem="not-json") == 1
    assert value(samples, "cea_dead_lettered_total", type="enrollment.enrolled", reason="invalid") == 1
    assert value(samples, "cea_dead_lettered_total", type="unknown", reason="invalid") == 1
    assert value(samples, "cea_events_total", type="unknown", outcome="invalid") == 1
    assert not any(dict(labels).get("type") == "?" for _, labels in samples)
    assert value(samples, "cea_queue_messages", queue="probe.dead-letter") == 3


def test_the_outbox_reports_how_long_its_oldest_event_has_waited(probe, services):
    assert value(scrape(probe), "cea_outbox_oldest_age_seconds") == 0
    # A row another relay claimed and never published (it died holding the lease).
    engine = make_engine(services.database_urls["probe"])
    outbox, _ = add_messaging_tables(MetaData())
    with engine.begin() as conn:
        conn.execute(insert(outbox).values(
            event_id=str(uuid.uuid4()), type="enrollment.enrolled", version=1, correlation_id=str(uuid.uuid4()),
            occurred_at=datetime.now(timezone.utc) - timedelta(seconds=90), body="{}",
            claimed_until=datetime.now(timezone.utc) + timedelta(hours=1), claimed_by="a relay that died"))
    engine.dispose()
    samples = scrape(probe)
    assert 90 <= value(samples, "cea_outbox_oldest_age_seconds") < 150
    assert value(samples, "cea_outbox_backlog") == 1


def test_queues_readiness_and_the_process_are_reported(probe):
    samples = scrape(probe)
    assert value(samples, "cea_queue_consumers", queue="probe.events") == 1
    assert value(samples, "cea_queue_consumers", queue="probe.dead-letter") == 0
    assert value(samples, "cea_dead_letters") == 0
    assert value(samples, "cea_ready") == 1
    assert value(samples, "cea_broker_connected") == 1
    assert value(samples, "process_resident_memory_bytes") > 10_000_000
    assert value(samples, "process_start_time_seconds") > 0
    assert value(samples, "process_open_fds") > 0
