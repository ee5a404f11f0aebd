"""The outbox relay inside a service: publishes committed outbox rows to the broker.

What it claims, marks and gives back is `shared/messaging/outbox.py` (leases,
published only once confirmed). A deployment may run the relay as a process of its
own instead (`shared/messaging/relay_process.py`, with `OUTBOX_RELAY=false` here):
the same rows, the same rules, on another core.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import urllib.request
import uuid
import eventlet
from eventlet.event import Event as Signal
from nameko.extensions import SharedExtension
from shared.persistence.database import Database
from shared.resilience import Backoff, Loops, is_database_outage

from . import topology
from .broker import (CONNECTION_ERRORS, ConfirmingPublisher, ConfirmTimeout, Outgoing, connect,
                     keep_alive)
from .outbox import Outbox, message_properties

log = logging.getLogger(__name__)


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
        self.name = (f"{self.container.service_name}@{socket.gethostname()}:{os.getpid()}:"
                     f"{uuid.uuid4().hex[:6]}")
        self._wakeup = Signal()
        self._running = False
        self._gt = None
        self._outbox = None
        self.connected = False
        self.blocked = None  # the broker's reason while it refuses publishes (an alarm)
        self.heartbeat = int(config.get("AMQP_HEARTBEAT", 30))
        self.database.on_commit_with_events(self.wake)
        self.database.publishing_refused = self.alarm
        # With the relay in a process of its own (OUTBOX_RELAY=false), the broker's alarm
        # reaches that process, not this one: ask it (its probes on RELAY_HTTP).
        address = str(config.get("RELAY_HTTP") or "")
        host, _, port = address.rpartition(":")
        self._alarm_url = (None if self.enabled or not port.isdigit() else
                           f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}/relay/alarm")
        self._alarm_asked_at, self._relay_alarm = 0.0, None

    def alarm(self):
        """The broker's reason while it refuses publishes (a memory or disk alarm), or
        None. Asked of the relay process at most once a second; a relay process that
        does not answer is no alarm (its own probes say it is down)."""
        if self._alarm_url is None:
            return self.blocked
        now = time.monotonic()
        if now - self._alarm_asked_at >= 1.0:
            self._alarm_asked_at = now
            try:
                with urllib.request.urlopen(self._alarm_url, timeout=0.5) as answer:
                    self._relay_alarm = answer.read().decode("utf-8", "replace").strip() or None
            except (OSError, ValueError):
                self._relay_alarm = None
        return self._relay_alarm

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
                             routing_key=row.type, properties=message_properties(row),
                             mandatory=topology.routed(row.type))
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

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            self._outbox = Outbox(self.database.engine, self.database.outbox, self.name,
                                  self.database.writer_lock)
        return self._outbox

    def _claim(self, limit: int):
        return self.outbox.claim(limit)

    def _mark_published(self, confirmed, failed):
        self.outbox.mark(confirmed, failed)
        if failed:
            log.warning("outbox relay: %d events not confirmed, will retry", len(failed))

    def _release_claims(self):
        """After losing the broker: what this relay had in flight is anyone's again."""
        try:
            self.outbox.release()
        except Exception as exc:  # the lease runs out anyway
            log.warning("outbox relay could not release its claims: %s", exc)


class _Stopping(Exception):
    """Stopping while the database is away: what is in flight is released."""
