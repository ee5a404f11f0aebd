"""What every service class is built from (architecture.md, "Shape").

    class BillingService(ServiceBase):
        name = "billing"

        @event_handler(contracts.enrollment.Enrolled)
        def open_order(self, tx, event): ...

        @api("POST", "/billing/...", roles=("finance_clerk",), request=..., response=...)
        def settle(self, request, principal, body): ...

`ServiceBase` gives each service its database (`self.db`), health probes,
Prometheus metrics, its OpenAPI document and the journey trace for operators.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import eventlet

from nameko.extensions import DependencyProvider
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from shared.errors import DomainError, NotFound
from shared.messaging import topology
from shared.messaging.consumer import Defer, EventConsumer, event_handler
from shared.messaging.relay import OutboxRelay
from shared.observability import Metrics, QueueWatch
from shared.persistence.database import Database, Store
from shared.persistence.retention import BATCH as RETENTION_BATCH
from shared.persistence.retention import prune_handled
from shared.persistence.types import utcnow
from shared.resilience import Loops
from shared.settings import DEVELOPMENT, Settings
from shared.timers import periodic
from shared.web import openapi
from shared.web.api import api, load_body

__all__ = ["Defer", "DomainError", "ServiceBase", "api", "event_handler", "load_body", "periodic"]


class Runtime(DependencyProvider):
    """The service's view of its own machinery, for probes and operators."""

    consumer = EventConsumer()
    relay = OutboxRelay()
    metrics = Metrics()
    database = Database()
    loops = Loops()
    settings = Settings()

    def setup(self):
        service = self.container.service_name
        self.queues = QueueWatch(self.container.config["AMQP_URI"],
                                 [topology.service_queue(service), topology.dead_letter_queue(service)],
                                 name=f"{service}-metrics:{os.getpid()}")
        self._was_ready = None
        self.metrics.gauge("cea_outbox_backlog", "Committed events not yet published",
                           self.outbox_backlog)
        self.metrics.gauge("cea_outbox_oldest_age_seconds",
                           "Age of the oldest committed event not yet published (0: none waits)",
                           self.outbox_oldest_age)
        self.metrics.gauge("cea_broker_connected", "1 when consumer and relay hold a connection",
                           lambda: 1 if self.broker_ok() else 0)
        self.metrics.gauge("cea_ready", "1 when /health/ready would answer 200",
                           lambda: 1 if all(self.readiness().values()) else 0)
        self.metrics.gauge("cea_dead_letters", "Messages waiting in this service's dead-letter queue",
                           lambda: self.queues.counts()[topology.dead_letter_queue(service)][0])
        self.metrics.gauge("cea_queue_messages", "Messages ready in this service's queues, by queue",
                           lambda: {(q,): c[0] for q, c in self.queues.counts().items()}, labels=("queue",))
        self.metrics.gauge("cea_queue_consumers",
                           "Consumers on this service's queues (all replicas), by queue",
                           lambda: {(q,): c[1] for q, c in self.queues.counts().items()}, labels=("queue",))

    def stop(self):
        self.queues.close()

    def kill(self):
        self.queues.close()

    def get_dependency(self, worker_ctx):
        return self

    def outbox_backlog(self) -> int:
        outbox = self.database.outbox
        with self.database.read() as session:
            return session.scalar(select(func.count()).select_from(outbox)
                                  .where(outbox.c.published_at.is_(None)))

    def outbox_oldest_age(self) -> float:
        outbox = self.database.outbox
        with self.database.read() as session:
            oldest = session.scalar(select(outbox.c.occurred_at).where(outbox.c.published_at.is_(None))
                                    .order_by(outbox.c.seq).limit(1))
        return 0.0 if oldest is None else max(0.0, (datetime.now(timezone.utc) - oldest).total_seconds())

    def broker_ok(self) -> bool:
        consumer_ok = self.consumer.connected or not self.consumer.handlers
        relay_ok = not self.relay.alarm() and (self.relay.connected or not self.relay.enabled)
        return consumer_ok and relay_ok

    def readiness(self) -> dict:
        """Ready: broker and database reachable, migrations applied, and no background
        loop waiting for a dependency."""
        checks = {"broker": self.broker_ok()}
        try:
            checks["database"] = self.database.ping()
            checks["migrations"] = self.database.migrated()
        except Exception:  # unreachable database: not ready, not a 500
            checks["database"] = checks["migrations"] = False
        checks["loops"] = not self.loops.waiting_on()
        ready = all(checks.values())
        if self._was_ready is not None and ready != self._was_ready:
            self.metrics.readiness_changes.inc()
        self._was_ready = ready
        return checks

    def liveness(self) -> tuple[bool, dict]:
        """Live unless a background loop stopped beating (wedged): waiting for a
        dependency is not death, and restarting would not bring it back sooner."""
        stalled = self.loops.stalled()
        return not stalled, {"stalled": stalled, "loops": self.loops.report()}


class ServiceBase:
    db = Store()
    runtime = Runtime()

    @periodic("INBOX_PRUNE_INTERVAL_SECONDS", 3600)
    def prune_inbox(self):
        """Forget handled event ids past the retention (shared/persistence/retention.py),
        a small batch per transaction."""
        days = float(self.runtime.container.config.get("INBOX_RETENTION_DAYS", 30))
        before = utcnow() - timedelta(days=days)
        while prune_handled(self.runtime.database, before) == RETENTION_BATCH:
            eventlet.sleep(0)  # handlers and probes take their turn between batches

    @api("GET", "/health/live", public=True, produces=("application/json",),
         responses={503: {"description": "A background loop is wedged",
                          "content": {"application/json": {"schema": {"type": "object"}}}}})
    def health_live(self, request):
        """The process answers and none of its background loops is wedged."""
        live, details = self.runtime.liveness()
        return (200 if live else 503), {"status": "live" if live else "stalled", **details}

    @api("GET", "/health/ready", public=True, produces=("application/json",),
         responses={503: {"description": "Not ready: a dependency is away, or a loop waits on one",
                          "content": {"application/json": {"schema": {"type": "object"}}}}})
    def health_ready(self, request):
        """Broker and database reachable, migrations applied, no loop waiting on them."""
        checks = self.runtime.readiness()
        waiting = self.runtime.loops.waiting_on()
        answer = {"ready": all(checks.values()), "checks": checks, "waiting": waiting,
                  "profile": self.runtime.settings.profile}
        if self.runtime.settings.profile == DEVELOPMENT:
            answer["warning"] = "development profile: development secrets accepted; not for real use"
        return (200 if answer["ready"] else 503), answer

    @api("GET", "/metrics", public=True, produces=("text/plain",))
    def prometheus_metrics(self, request):
        """Prometheus metrics of this process."""
        return Response(self.runtime.metrics.render(), content_type=CONTENT_TYPE_LATEST)

    @api("GET", "/{service}/openapi.json", public=True, produces=("application/json",))
    def openapi_document(self, request):
        """This service's OpenAPI document."""
        return openapi.build(self.runtime.container)

    @api("GET", "/{service}/journeys/<uuid:correlation_id>", roles=("operator", "admin"))
    def journey(self, request, principal, correlation_id):
        """The events of one learner's journey this service received and emitted."""
        outbox, inbox = self.runtime.database.outbox, self.runtime.database.inbox
        key = str(correlation_id)
        with self.db.read() as session:
            emitted = session.execute(select(outbox.c.event_id, outbox.c.type, outbox.c.occurred_at,
                                             outbox.c.published_at)
                                      .where(outbox.c.correlation_id == key)).all()
            received = session.execute(select(inbox.c.event_id, inbox.c.type, inbox.c.occurred_at,
                                              inbox.c.handled_at)
                                       .where(inbox.c.correlation_id == key)).all()
        if not emitted and not received:
            raise NotFound(f"no events of journey {key} here")
        service = self.runtime.container.service_name
        steps = [{"service": service, "direction": "emitted", "event_id": r.event_id, "type": r.type,
                  "occurred_at": r.occurred_at.isoformat(),
                  "at": r.published_at.isoformat() if r.published_at else None} for r in emitted]
        steps += [{"service": service, "direction": "handled", "event_id": r.event_id, "type": r.type,
                   "occurred_at": r.occurred_at.isoformat(), "at": r.handled_at.isoformat()}
                  for r in received]
        return {"correlation_id": key, "steps": sorted(steps, key=lambda s: s["at"] or "")}
