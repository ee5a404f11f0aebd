"""The inbox forgets handled events past the retention, in small batches, and still
drops a duplicate of an event inside it."""
from datetime import timedelta

from sqlalchemy import create_engine, text

from shared.persistence.types import utcnow
from tests.support import events
from tests.support.wait import wait_for


def _sql(url, statement, **params):
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def test_handled_events_past_the_retention_are_forgotten_and_recent_ones_kept(services, bus):
    services.start("billing", INBOX_RETENTION_DAYS="30", INBOX_PRUNE_INTERVAL_SECONDS="0.5")
    url = services.database_urls["billing"]
    sink = bus.sink("billing.order-opened")
    old = [events.enrolled(f"旧学员{i}") for i in range(2500)]  # more than one pruning batch
    recent = events.enrolled("新学员")
    for event in old + [recent]:
        bus.publish(event)
    wait_for(lambda: _sql(url, "SELECT count(*) FROM inbox")[0][0] == len(old) + 1, timeout=60)
    # Handled 31 days ago, as far as the inbox knows.
    _sql(url, "UPDATE inbox SET handled_at = :then WHERE event_id <> :recent",
         then=(utcnow() - timedelta(days=31)).replace(tzinfo=None) if "sqlite" in url
         else utcnow() - timedelta(days=31), recent=str(recent.id))

    wait_for(lambda: _sql(url, "SELECT count(*) FROM inbox")[0][0] == 1, timeout=60,
             message="the inbox kept events past the retention")
    assert _sql(url, "SELECT event_id FROM inbox")[0][0] == str(recent.id)
    # Inside the retention a duplicate is still a duplicate: no second order.
    bus.publish(recent)
    later = events.enrolled("后来者")
    bus.publish(later)
    sink.expect("billing.order-opened", where=lambda e: str(e.data["enrollment_id"]) == later.data["enrollment_id"])
    wait_for(lambda: _sql(url, "SELECT count(*) FROM inbox")[0][0] == 2, timeout=30)
    assert _sql(url, "SELECT count(*) FROM orders")[0][0] == len(old) + 2
