"""The outbox as the relays see it: claim rows to publish, mark them published
once the broker confirmed them, give back what could not be published.

Rows are claimed for a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`), so several
relays never publish the same row at once and a relay that died only delays its
rows until the lease runs out. A row is marked published only after the broker
confirmed it, so a crash anywhere means "published again", never "lost"; the
consumers' inboxes absorb the duplicate. Used by the relay inside a service
(shared/messaging/relay.py) and by the relay process (relay_process.py) alike.
"""
from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta

from sqlalchemy import Table, select, update
from sqlalchemy.engine import Engine

from shared.persistence.types import utcnow

LEASE = timedelta(seconds=60)  # longer than the confirm timeout (30 s)


class Outbox:
    def __init__(self, engine: Engine, table: Table, name: str, writer_lock=nullcontext,
                 lease: timedelta = LEASE):
        self.engine = engine.execution_options(cea_write=True)
        self.table, self.name, self.writer_lock, self.lease = table, name, writer_lock, lease

    def claim(self, limit: int) -> list:
        outbox = self.table
        now = utcnow()
        with self.writer_lock(), self.engine.begin() as conn:
            rows = conn.execute(
                select(outbox.c.seq, outbox.c.event_id, outbox.c.type, outbox.c.version,
                       outbox.c.correlation_id, outbox.c.causation_id, outbox.c.body)
                .where(outbox.c.published_at.is_(None))
                .where((outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now))
                .order_by(outbox.c.seq).limit(limit)
                .with_for_update(skip_locked=True)).all()
            if rows:
                conn.execute(update(outbox).where(outbox.c.seq.in_([r.seq for r in rows]))
                             .values(claimed_until=now + self.lease, claimed_by=self.name,
                                     publish_attempts=outbox.c.publish_attempts + 1))
        return rows

    def mark(self, confirmed: list, failed: list) -> None:
        """Confirmed rows are published; failed ones go back at once, not at the
        lease's end."""
        outbox = self.table
        with self.writer_lock(), self.engine.begin() as conn:
            for chunk in _chunks(confirmed):
                conn.execute(update(outbox).where(outbox.c.seq.in_(chunk))
                             .values(published_at=utcnow(), claimed_until=None))
            for chunk in _chunks(failed):
                conn.execute(update(outbox).where(outbox.c.seq.in_(chunk))
                             .where(outbox.c.claimed_by == self.name).values(claimed_until=None))

    def release(self) -> None:
        """After losing the broker, or stopping: what this relay had claimed is
        anyone's again."""
        outbox = self.table
        with self.writer_lock(), self.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.claimed_by == self.name)
                         .where(outbox.c.published_at.is_(None)).values(claimed_until=None))


def message_properties(row) -> dict:
    """AMQP properties of an outbox row. The envelope in the body carries version
    and causation; no header table here, it costs a fifth of a publish."""
    return {
        "content_type": "application/json",
        "delivery_mode": 2,  # persistent
        "message_id": row.event_id,
        "type": row.type,
        "correlation_id": row.correlation_id,
    }


def _chunks(items, size=500):
    for i in range(0, len(items), size):
        yield items[i:i + size]
