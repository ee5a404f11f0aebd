"""The event consumer: at-least-once in, exactly-once effects.

One durable queue per service. Messages are taken a batch at a time; the
consecutive messages of one handler run in one nameko worker and one database
transaction, each in its own savepoint, with their inbox rows and outgoing events.
Only after that transaction commits are they acknowledged, with one cumulative ack.

A message whose handler fails is retried through a delay queue (backoff), then
dead-lettered with the error, its original headers and the attempt count; it never
blocks what is behind it. An invalid message is dead-lettered at once with its
validation error. `Defer` (the event arrived before what it needs) retries longer
before giving up.
"""
from __future__ import annotations

import functools
from collections import Counter
import logging
import os
import socket
import time
import traceback
import uuid
from datetime import datetime, timezone

import eventlet
from eventlet.event import Event as Signal
from nameko.extensions import Entrypoint, ProviderCollector, SharedExtension, register_entrypoint

from shared.contracts import InvalidEvent, decode
from shared.contracts.envelope import peek_id, peek_type
from shared.observability import Metrics
from shared.persistence.database import Database
from shared.persistence.transaction import already_handled
from shared.resilience import DATABASE_OUTAGES, Backoff, Loops, is_database_outage, sleep_while

from . import topology
from .broker import CONNECTION_ERRORS, ConfirmingPublisher, Outgoing, connect

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-cea-attempts"


class Defer(Exception):
    """Raised by a handler when the event came before what it depends on
    (e.g. `billing.paid` before `enrollment.enrolled`): retry later, do not fail."""


class Delivery:
    """One received message and what became of it."""

    __slots__ = ("message", "tag", "event", "error", "outcome", "attempts", "seconds")

    def __init__(self, message):
        self.message = message
        self.tag = message.delivery_tag
        self.event = None
        self.error: BaseException | None = None
        self.outcome = "pending"
        self.seconds: float | None = None  # in its handler (metrics)
        headers = message.properties.get("application_headers") or {}
        self.attempts = int(headers.get(ATTEMPT_HEADER, 0))

    @property
    def headers(self) -> dict:
        return dict(self.message.properties.get("application_headers") or {})

    @property
    def type_label(self) -> str:
        """Its type for metrics; for an invalid message the known type it claims, else "unknown"."""
        if self.event is not None:
            return self.event.type
        return peek_type(self.message.body) or "unknown"


class Group:
    """Consecutive deliveries for one handler, handled in one transaction.

    The handler is run as `handle(tx, events)` on every event of the group that is
    not in the inbox yet: a batch handler does its reads and writes once for them
    all; an event-by-event handler is called in a loop."""

    def __init__(self, database: Database, consumer: str, deliveries: list[Delivery]):
        self.database = database
        self.consumer = consumer
        self.deliveries = deliveries

    def run(self, handle) -> None:
        """All in one transaction. If an event's own effect is refused (the handler
        raised, or the database refused its rows at flush or commit), once more with
        a savepoint per event so that only that event is left out; if the commit
        still fails, one transaction per event. A database outage is not an event's
        fault: it propagates, and the consumer waits and runs the group again."""
        for isolate in (False, True):
            self._reset()
            try:
                self._run(handle, isolate)
                return
            except _EffectRefused:
                continue
        self._reset()
        for d in self.deliveries:
            self._run_alone(handle, d)

    def _reset(self) -> None:
        for d in self.deliveries:
            d.outcome, d.error, d.seconds = "pending", None, None

    def _fresh(self, tx, deliveries) -> list[Delivery]:
        """The deliveries whose event is not in the inbox (the others are duplicates)."""
        seen = already_handled(tx.session, self.database.inbox, self.consumer,
                               [d.event.id for d in deliveries])
        fresh = []
        for d in deliveries:
            event_id = str(d.event.id)
            if event_id in seen:
                d.outcome = "duplicate"
            else:
                seen.add(event_id)
                fresh.append(d)
        return fresh

    def _run(self, handle, isolate: bool) -> None:
        try:
            with self.database.transaction() as tx:
                fresh = self._fresh(tx, self.deliveries)
                if isolate:
                    for d in fresh:
                        self._handle_in_savepoint(tx, handle, d)
                elif fresh:
                    self._handle(tx, handle, fresh, isolate_on_refusal=True)
        except _EffectRefused:
            raise
        except Exception as exc:
            if is_database_outage(exc):
                raise
            raise _EffectRefused() from exc  # refused at flush or commit

    def _handle_in_savepoint(self, tx, handle, d: Delivery) -> None:
        marks = (len(tx.outgoing), len(tx.handled))
        try:
            started = time.perf_counter()
            with tx.session.begin_nested():  # its release flushes: refusals land here
                try:
                    handle(tx, [d.event])
                finally:
                    d.seconds = time.perf_counter() - started
            tx.mark_handled(self.consumer, d.event)
            d.outcome = "done"
        except Exception as exc:
            if is_database_outage(exc):
                raise
            del tx.outgoing[marks[0]:]
            del tx.handled[marks[1]:]
            d.outcome, d.error = "failed", exc

    def _run_alone(self, handle, d: Delivery) -> None:
        try:
            with self.database.transaction() as tx:
                if self._fresh(tx, [d]):
                    self._handle(tx, handle, [d], isolate_on_refusal=False)
        except Exception as exc:
            if is_database_outage(exc):
                raise
            d.outcome, d.error = "failed", exc

    def _handle(self, tx, handle, fresh: list[Delivery], isolate_on_refusal: bool) -> None:
        started = time.perf_counter()
        try:
            handle(tx, [d.event for d in fresh])
        except Exception as exc:
            if is_database_outage(exc) or not isolate_on_refusal:
                raise
            raise _EffectRefused() from exc
        each = (time.perf_counter() - started) / len(fresh)
        for d in fresh:
            tx.mark_handled(self.consumer, d.event)
            d.outcome, d.seconds = "done", each


class _EffectRefused(Exception):
    """An event's effect was refused in the shared transaction: isolate it."""


class EventConsumer(ProviderCollector, SharedExtension):
    database = Database()
    metrics = Metrics()
    loops = Loops()

    def setup(self):
        config = self.container.config
        self.service = self.container.service_name
        self.uri = config["AMQP_URI"]
        self.heartbeat = int(config.get("AMQP_HEARTBEAT", 30))
        # Under load a batch of 500 shares one transaction and one disk sync; idle,
        # a batch is what arrived within EVENT_BATCH_IDLE_SECONDS.
        self.batch_size = int(config.get("EVENT_BATCH_SIZE", 500))
        self.prefetch = int(config.get("EVENT_PREFETCH", 1000))
        self.idle = float(config.get("EVENT_BATCH_IDLE_SECONDS", 0.005))
        self.delays_ms = [int(float(s) * 1000) for s in
                          str(config.get("RETRY_DELAYS_SECONDS", "1,5,30,120")).split(",")]
        self.max_attempts = int(config.get("RETRY_MAX_ATTEMPTS", len(self.delays_ms) + 1))
        self.defer_attempts = int(config.get("DEFER_MAX_ATTEMPTS", 40))
        self.handlers = {}
        self._pending = []
        self._running = False
        self._gt = None
        self._conn = None
        self.connected = False
        self.stats = {"done": 0, "duplicate": 0, "failed": 0, "invalid": 0, "dead_lettered": 0}

    def start(self):
        # Handlers register in their own setup, which may run after ours: by
        # start, every setup has run.
        for provider in self._providers:
            key = provider.contract.key
            if key in self.handlers:
                raise ValueError(f"{self.service}: two handlers for {key}")
            self.handlers[key] = provider
        if self.handlers:
            self._running = True
            self.loops.register("event-consumer")
            self._gt = self.container.spawn_managed_thread(self._guarded, identifier="event-consumer")

    def unregister_provider(self, provider):
        self.halt()
        super().unregister_provider(provider)

    def halt(self):
        """Stop taking messages; the batch in hand is finished and acknowledged, or,
        while the database is away, released unacknowledged (the broker redelivers)."""
        self._running = False
        if self._gt is not None and eventlet.getcurrent() is not self._gt:
            self._gt.wait()

    def kill(self):
        self._running = False
        if self._gt is not None:
            self._gt.kill()

    # -- the loop ---------------------------------------------------------

    def _guarded(self):
        try:
            self._run()
        except Exception as exc:  # a bug, not an outage: the process must be restarted
            self.loops.fatal("event-consumer", exc)

    def _run(self):
        backoff = Backoff()
        while self._running:
            self.loops.beat("event-consumer")
            try:
                conn = connect(self.uri, name=f"{self.service}-consumer:{os.getpid()}",
                               heartbeat=self.heartbeat)
            except CONNECTION_ERRORS as exc:
                self.loops.waiting("event-consumer", "broker", exc)
                sleep_while(lambda: self._running, backoff.next())
                continue
            backoff.reset()
            self.loops.recovered("event-consumer")
            self._conn = conn
            try:
                self._consume(conn)
            except CONNECTION_ERRORS as exc:
                log.warning("%s consumer lost the broker: %s", self.service, exc)
            finally:
                self.connected = False
                self._pending = []  # unacked: the broker redelivers them
                self._conn = None
                try:
                    conn.collect()
                except Exception:  # the connection is gone either way
                    pass

    def _consume(self, conn):
        channel = conn.channel()
        topology.declare_exchange(channel)
        types = {key[0] for key in self.handlers}
        topology.declare_service_queue(channel, self.service, types)
        topology.declare_retry_and_dead_letter(channel, self.service, self.delays_ms)
        channel.basic_qos(0, self.prefetch, False)
        republisher = ConfirmingPublisher(conn)
        channel.basic_consume(topology.service_queue(self.service), callback=self._pending.append)
        self.connected = True
        ticked = time.monotonic()
        while self._running:
            try:
                conn.drain_events(timeout=self.idle if self._pending else 1.0)
                full = len(self._pending) >= self.batch_size
            except socket.timeout:
                full = bool(self._pending)
            if time.monotonic() - ticked > 0.5:  # heartbeats are seconds apart
                conn.heartbeat_tick()
                self.loops.beat("event-consumer")
                ticked = time.monotonic()
            if full:
                batch, self._pending[:] = self._pending[:self.batch_size], self._pending[self.batch_size:]
                self._process(channel, republisher, batch)

    def _process(self, channel, republisher, messages):
        with self.metrics.batch_seconds.time():
            self._process_batch(channel, republisher, messages)

    def _process_batch(self, channel, republisher, messages):
        deliveries = [self._decode(m) for m in messages]
        for provider, group in self._groups(deliveries):
            if not self._run_until_done(provider, group):
                return  # stopping while the database is away: released, unacknowledged
        self._settle_failures(republisher, deliveries)
        channel.basic_ack(deliveries[-1].tag, multiple=True)
        tally = Counter((d.type_label, d.outcome) for d in deliveries)
        for (type_, outcome), count in tally.items():
            self.stats[outcome] = self.stats.get(outcome, 0) + count
            self.metrics.events.labels(type_, outcome).inc(count)
        for d in deliveries:
            if d.seconds is not None:
                self.metrics.handler_seconds.labels(d.type_label).observe(d.seconds)
            if d.outcome == "invalid":
                self.metrics.invalid_events.labels(d.type_label, getattr(d.error, "problem", "invalid")).inc()
            if d.outcome in ("invalid", "dead_lettered"):
                self.metrics.dead_lettered.labels(d.type_label, "invalid" if d.outcome == "invalid"
                                                  else "gave-up").inc()

    def _run_until_done(self, provider, group: Group) -> bool:
        """Run the group; while the database is away, wait (capped backoff, the broker
        connection kept alive, nothing requeued) and run it again when it is back.
        False if the service stops meanwhile."""
        backoff = Backoff()
        while True:
            failure = self._run_group(provider, group)
            if failure is None:
                self.loops.recovered("event-consumer")
                return True
            if not is_database_outage(failure):
                # Not the events' effects (those are isolated) but the machinery around
                # them: each event of the group is retried and dead-lettered in turn.
                log.error("%s: a group of %d events failed: %s", self.service, len(group.deliveries),
                          failure, exc_info=(type(failure), failure, failure.__traceback__))
                for d in group.deliveries:
                    if d.outcome in ("pending", "done"):
                        d.outcome, d.error = "failed", failure
                return True
            self.loops.waiting("event-consumer", "database", failure)
            deadline = time.monotonic() + backoff.next()
            while self._running and time.monotonic() < deadline:
                self._keep_connection(min(0.5, deadline - time.monotonic()))
            if not self._running:
                return False

    def _keep_connection(self, seconds: float) -> None:
        try:
            self._conn.drain_events(timeout=max(seconds, 0.001))
        except socket.timeout:
            pass
        self._conn.heartbeat_tick()
        self.loops.beat("event-consumer")

    def _decode(self, message) -> Delivery:
        d = Delivery(message)
        try:
            d.event = decode(message.body)
        except InvalidEvent as exc:
            d.outcome, d.error = "invalid", exc
            return d
        if d.event.contract.key not in self.handlers:
            d.outcome = "invalid"
            d.error = InvalidEvent(f"{self.service} has no handler for {d.event.type} v{d.event.version}",
                                   "no-handler")
        return d

    def _groups(self, deliveries):
        run, provider = [], None
        for d in deliveries:
            if d.outcome != "pending":
                continue
            p = self.handlers[d.event.contract.key]
            if run and p is not provider:
                yield provider, Group(self.database, self.service, run)
                run = []
            provider = p
            run.append(d)
        if run:
            yield provider, Group(self.database, self.service, run)

    def _run_group(self, provider, group: Group) -> BaseException | None:
        done = Signal()

        def handle_result(worker_ctx, result, exc_info):
            done.send((result, exc_info))
            return result, exc_info

        first = group.deliveries[0].event
        self.container.spawn_worker(provider, (group,), {}, handle_result=handle_result,
                                    context_data={"correlation_id": str(first.correlation_id)})
        _, exc_info = done.wait()
        return exc_info[1] if exc_info is not None else None

    # -- retries and dead letters ------------------------------------------

    def _settle_failures(self, republisher, deliveries):
        outgoing = []
        for d in deliveries:
            if d.outcome in ("failed", "invalid"):
                outgoing.append(self._failure_message(d))
        if not outgoing:
            return
        confirmed = set(republisher.publish_all(outgoing, mandatory=False))
        if len(confirmed) != len(outgoing):
            # Not acknowledged then: the broker redelivers the whole batch.
            raise ConnectionError("retry/dead-letter publish not confirmed")

    def _failure_message(self, d: Delivery) -> Outgoing:
        attempts = d.attempts + 1
        headers = d.headers
        headers.setdefault("x-cea-original-routing-key", d.message.delivery_info.get("routing_key", ""))
        headers[ATTEMPT_HEADER] = attempts
        headers["x-cea-error"] = _describe(d.error)[:4000]
        headers["x-cea-error-type"] = type(d.error).__name__
        limit = self.defer_attempts if isinstance(d.error, Defer) else self.max_attempts
        if d.outcome == "invalid" or attempts >= limit:
            headers["x-cea-dead-lettered-at"] = datetime.now(timezone.utc).isoformat()
            headers["x-cea-reason"] = "invalid" if d.outcome == "invalid" else "gave-up"
            d.outcome = "dead_lettered" if d.outcome == "failed" else d.outcome
            log.error("dead-lettered after %d attempts: %s", attempts, headers["x-cea-error"],
                      extra=self._log_extra(d))
            routing_key = topology.dead_letter_queue(self.service)
        else:
            delay = self.delays_ms[min(attempts - 1, len(self.delays_ms) - 1)]
            routing_key = topology.retry_queue(self.service, delay)
            log.warning("retry %d in %d ms: %s", attempts, delay, headers["x-cea-error"],
                        extra=self._log_extra(d))
        properties = {k: v for k, v in d.message.properties.items() if k != "application_headers"}
        properties["application_headers"] = headers
        properties["delivery_mode"] = 2
        properties.setdefault("message_id", peek_id(d.message.body) or str(uuid.uuid4()))
        return Outgoing(key=d.tag, body=d.message.body, exchange="", routing_key=routing_key,
                        properties=properties)

    def _log_extra(self, d: Delivery) -> dict:
        extra = {"service": self.service}
        if d.event is not None:
            extra.update(event_type=d.event.type, event_id=str(d.event.id),
                         correlation_id=str(d.event.correlation_id))
        return extra


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (InvalidEvent, Defer)):
        return f"{type(exc).__name__}: {exc}"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class EventHandler(Entrypoint):
    consumer = EventConsumer()

    def __init__(self, schema_cls, **kwargs):
        self.contract = schema_cls.contract
        kwargs.setdefault("expected_exceptions", DATABASE_OUTAGES)
        super().__init__(**kwargs)

    def setup(self):
        self.consumer.register_provider(self)

    def stop(self):
        self.consumer.unregister_provider(self)
        super().stop()


def event_handler(schema_cls, *, batch: bool = False):
    """Declare the service's handler of an event contract: `fn(self, tx, event)`, or
    with `batch=True` `fn(self, tx, events)` for the events of a batch at once (one
    read of what they need, one bulk write; each event's own emissions through
    `tx.caused_by(event).emit(...)`).

    The handler changes state through `tx.session`, emits through `tx.emit`; the
    consumer provides the transaction, the inbox and the acknowledgement. Should a
    batch fail, the consumer calls the handler again with one event at a time.

    The method stays callable as written, `service.handler(tx, event)` (a test, or
    the fast tier's `actions_tx`); only the consumer's worker passes it a `Group`."""

    def decorate(fn):
        @functools.wraps(fn)
        def handler(self, *args, **kwargs):
            if len(args) == 1 and not kwargs and isinstance(args[0], Group):
                group = args[0]
                if batch:
                    group.run(lambda tx, events: fn(self, tx, events))
                else:
                    group.run(lambda tx, events: [fn(self, tx.caused_by(e), e) for e in events])
                return None
            return fn(self, *args, **kwargs)

        handler.batch = batch
        register_entrypoint(handler, EventHandler(schema_cls))
        return handler

    return decorate
