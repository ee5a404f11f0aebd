"""The outbox relay: publishes committed outbox rows to the broker.

Rows are claimed for a short lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`), so
several replicas never publish the same row at once and a relay that dies
mid-way only delays its rows until the lease runs out. A row is marked published
only after the broker confirmed it, so a crash anywhere means "published again",
never "lost"; consumers' inboxes absorb the duplicate.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import timedelta

import eventlet
from eventlet.event import Event as Signal
from nameko.extensions import SharedExtension
from sqlalchemy import select, update

from shared.persistence.database import Database
from shared.persistence.types import utcnow
from shared.resilience import Backoff, Loops, is_database_outage

from . import topology
from .broker import (CONNECTION_ERRORS, ConfirmingPublisher, ConfirmTimeout, Outgoing, connect,
                     keep_alive)

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # longer than the confirm timeout (30 s)


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


class OutboxRelay(SharedExtension):
    database = Database()
    loops = Loops()

    def setup(self):
        config = self.container.config
        self.uri = config["AMQP_URI"]
        self.enabled = str(config.get("OUTBOX_RELAY", "true")).lower() not in ("0", "false", "no")
        self.batch_size = int(config.get("OUTBOX_BATCH", 500))
        self.window = int(config.get("OUTBOX_WINDOW", 2000))
        self.poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 1.0))
        self.name = f"{self.container.service_name}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wakeup = Signal()
        self._running = False
        self._gt = None
        self.connected = False
        self.blocked = None  # the broker's reason while it refuses publishes (an alarm)
        self.heartbeat = int(config.get("AMQP_HEARTBEAT", 30))
        self.database.on_commit_with_events(self.wake)
        self.database.publishing_refused = lambda: self.blocked

    def start(self):
        if self.enabled:
            self._running = True
            self.loops.register("outbox-relay")
            self._gt = self.container.spawn_managed_thread(self._guarded, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self.wake()
        if self._gt is not None:
            self._gt.wait()

    def kill(self):
        self._running = False
        if self._gt is not None:
            self._gt.kill()

    def wake(self):
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def _sleep_until_woken(self, seconds):
        with eventlet.Timeout(seconds, False):
            self._wakeup.wait()
        self._wakeup = Signal()

    def _guarded(self):
        try:
            self._run()
        except Exception as exc:  # a bug, not an outage: the process must be restarted
            self.loops.fatal("outbox-relay", exc)

    def _run(self):
        backoff = Backoff()
        while self._running:
            self.loops.beat("outbox-relay")
            try:
                conn = connect(self.uri, name=self.name, heartbeat=self.heartbeat,
                               on_blocked=self._on_blocked, on_unblocked=self._on_unblocked)
            except CONNECTION_ERRORS as exc:
                self.loops.waiting("outbox-relay", "broker", exc)
                self._sleep_until_woken(backoff.next())
                continue
            backoff.reset()
            self.loops.recovered("outbox-relay")
            self.connected = True
            try:
                channel = conn.channel()
                topology.declare_consumer_queues(channel)
                channel.close()
                self._pump(conn, ConfirmingPublisher(conn))
            except CONNECTION_ERRORS + (ConfirmTimeout,) as exc:
                log.warning("outbox relay lost the broker: %s", exc)
            except _Stopping:
                pass
            finally:
                self.connected = False
                self.blocked = None
                self._release_claims()
                try:
                    conn.collect()
                except Exception:  # the connection is gone either way
                    pass

    def _on_blocked(self, reason):
        log.warning("the broker refuses publishes: %s", reason)
        self.blocked = reason or "the broker refuses publishes (resource alarm)"

    def _on_unblocked(self):
        log.warning("the broker takes publishes again")
        self.blocked = None

    def _with_database(self, conn, work):
        """`work()` once the database answers: while it is away, wait with backoff,
        keeping the broker connection alive (what is in flight stays in flight)."""
        backoff = Backoff()
        while True:
            try:
                result = work()
                self.loops.recovered("outbox-relay")
                return result
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                if not self._running:
                    raise _Stopping() from exc
                self.loops.waiting("outbox-relay", "database", exc)
            deadline = time.monotonic() + backoff.next()
            while time.monotonic() < deadline and self._running:
                try:
                    conn.drain_events(timeout=min(0.5, max(deadline - time.monotonic(), 0.001)))
                except socket.timeout:
                    pass
                conn.heartbeat_tick()

    def _pump(self, conn, publisher: ConfirmingPublisher):
        """Keep up to `window` events in flight; mark them as their confirms come."""
        settled_at = time.monotonic()
        confirmed, failed = [], []
        while self._running:
            self.loops.beat("outbox-relay")
            claimed = 0
            room = self.window - publisher.in_flight
            # While the broker refuses publishes (an alarm), publish nothing more.
            if not self.blocked and room >= min(self.batch_size, self.window // 4):
                rows = self._with_database(conn, lambda: self._claim(min(room, self.batch_size)))
                claimed = len(rows)
                publisher.publish([
                    Outgoing(key=row.seq, body=row.body.encode("utf-8"), exchange=topology.EXCHANGE,
                             routing_key=row.type, properties=message_properties(row))
                    for row in rows])
            if publisher.in_flight:
                try:
                    conn.drain_events(timeout=0.0005 if claimed else 0.05)
                except socket.timeout:
                    pass
                publisher.check_timeout()
            more_confirmed, more_failed = publisher.take_settled()
            confirmed += more_confirmed
            failed += more_failed
            # Marking is a disk sync: gather confirms for a moment, or a window's worth.
            idle = not claimed and not publisher.in_flight
            if (confirmed or failed) and (idle or len(confirmed) >= self.batch_size
                                          or time.monotonic() - settled_at > 0.05):
                self._with_database(conn, lambda: self._mark_published(confirmed, failed))
                confirmed, failed = [], []
                settled_at = time.monotonic()
            if idle:
                self._sleep_until_woken(self.poll_seconds)
                keep_alive(conn)
        self._settle_before_stopping(conn, publisher, confirmed, failed)

    def _settle_before_stopping(self, conn, publisher, confirmed, failed):
        """SIGTERM: wait a moment for the confirms in flight and record them; what is
        still unconfirmed is released by the caller (published again later, and the
        consumers' inboxes absorb a duplicate)."""
        deadline = time.monotonic() + 3.0
        while publisher.in_flight and time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=0.1)
            except socket.timeout:
                pass
        more_confirmed, more_failed = publisher.take_settled()
        if confirmed + more_confirmed or failed + more_failed:
            try:
                self._mark_published(confirmed + more_confirmed, failed + more_failed)
            except Exception as exc:  # published again later; inboxes absorb it
                log.warning("outbox relay could not record its last confirms: %s", exc)

    def _claim(self, limit: int):
        outbox = self.database.outbox
        now = utcnow()
        with self.database.writer_lock(), self.database.write_engine.begin() as conn:
            rows = conn.execute(
                select(outbox.c.seq, outbox.c.event_id, outbox.c.type, outbox.c.version,
                       outbox.c.correlation_id, outbox.c.causation_id, outbox.c.body)
                .where(outbox.c.published_at.is_(None))
                .where((outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now))
                .order_by(outbox.c.seq).limit(limit)
                .with_for_update(skip_locked=True)).all()
            if rows:
                conn.execute(update(outbox).where(outbox.c.seq.in_([r.seq for r in rows]))
                             .values(claimed_until=now + LEASE, claimed_by=self.name,
                                     publish_attempts=outbox.c.publish_attempts + 1))
        return rows

    def _mark_published(self, confirmed, failed):
        outbox = self.database.outbox
        with self.database.writer_lock(), self.database.write_engine.begin() as conn:
            for chunk in _chunks(confirmed):
                conn.execute(update(outbox).where(outbox.c.seq.in_(chunk))
                             .values(published_at=utcnow(), claimed_until=None))
            for chunk in _chunks(failed):  # give them back at once, not at the lease's end
                conn.execute(update(outbox).where(outbox.c.seq.in_(chunk))
                             .where(outbox.c.claimed_by == self.name).values(claimed_until=None))
        if failed:
            log.warning("outbox relay: %d events not confirmed, will retry", len(failed))

    def _release_claims(self):
        """After losing the broker: what this relay had in flight is anyone's again."""
        outbox = self.database.outbox
        try:
            with self.database.writer_lock(), self.database.write_engine.begin() as conn:
                conn.execute(update(outbox).where(outbox.c.claimed_by == self.name)
                             .where(outbox.c.published_at.is_(None)).values(claimed_until=None))
        except Exception as exc:  # the lease runs out anyway
            log.warning("outbox relay could not release its claims: %s", exc)


class _Stopping(Exception):
    """Stopping while the database is away: what is in flight is released."""


def _chunks(items, size=500):
    for i in range(0, len(items), size):
        yield items[i:i + size]
