"""Metrics (Prometheus) and JSON logs, one registry per service container."""
from __future__ import annotations

import logging

from nameko.extensions import SharedExtension
from prometheus_client import (CollectorRegistry, Counter, Histogram, PlatformCollector, ProcessCollector,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily

# Handlers take from a fraction of a millisecond (an inbox row) to seconds (a PDF).
HANDLER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics(SharedExtension):
    def __init__(self):
        super().__init__()
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter("cea_events_total", "Events taken from the service queue, by outcome",
                              ["type", "outcome"], registry=self.registry)
        self.batch_seconds = Histogram("cea_event_batch_seconds", "Time to handle and commit a batch",
                                       registry=self.registry)
        self.handler_seconds = Histogram("cea_event_handler_seconds", "Time in one event's handler, by type",
                                         ["type"], buckets=HANDLER_BUCKETS, registry=self.registry)
        self.invalid_events = Counter("cea_invalid_events_total",
                                      "Messages refused as invalid, by what was wrong (problem) and the "
                                      "known type they claimed (else unknown)", ["type", "problem"],
                                      registry=self.registry)
        self.dead_lettered = Counter("cea_dead_lettered_total",
                                     "Messages this process moved to its dead-letter queue, by type and "
                                     "reason (invalid, gave-up)", ["type", "reason"], registry=self.registry)
        self.readiness_changes = Counter("cea_readiness_changes_total",
                                         "Times /health/ready (or a scrape) found readiness changed",
                                         registry=self.registry)
        self.http = Counter("cea_http_requests_total", "HTTP requests answered",
                            ["method", "route", "status"], registry=self.registry)
        self.http_seconds = Histogram("cea_http_request_seconds", "HTTP answer latency",
                                      ["route"], registry=self.registry)
        self.group_commit_size = Histogram("cea_group_commit_size", "Writes per group commit",
                                           ["name"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
                                           registry=self.registry)
        self._gauges = []
        self.registry.register(_Gauges(self._gauges))
        # process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
        # process_start_time_seconds, ...; python_info
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def gauge(self, name: str, help_text: str, read, labels: tuple[str, ...] = ()):
        """A value read at scrape time (outbox backlog, connections). With `labels`,
        `read` returns {label values: value}."""
        self._gauges.append((name, help_text, read, labels))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Gauges:
    def __init__(self, gauges):
        self.gauges = gauges

    def describe(self):
        return []

    def collect(self):
        for name, help_text, read, labels in self.gauges:
            family = GaugeMetricFamily(name, help_text, labels=list(labels) or None)
            try:
                values = read() if labels else {(): read()}
                for key, value in values.items():
                    family.add_metric(list(key), float(value))
            except Exception:  # a scrape must not fail because one source is down
                if not labels:
                    family.add_metric([], float("nan"))
            yield family


class QueueWatch:
    """This service's queues as the broker counts them (messages ready, consumers),
    read when Prometheus scrapes, over a connection of its own: the consumer's may
    be the very thing that is down. Passive declares, so nothing is created."""

    def __init__(self, uri: str, queues: list[str], name: str, max_age: float = 2.0):
        import threading
        self.uri, self.queues, self.name, self.max_age = uri, queues, name, max_age
        self._lock = threading.Lock()  # green under eventlet: one scrape reads at a time
        self._conn = None
        self._read_at = float("-inf")
        self._counts: dict[str, tuple[int, int]] = {}

    def counts(self) -> dict[str, tuple[int, int]]:
        """queue -> (messages ready, consumers); a queue not declared yet is left out."""
        import time
        with self._lock:
            if time.monotonic() - self._read_at > self.max_age:
                self._counts = self._read()
                self._read_at = time.monotonic()
            return self._counts

    def _read(self) -> dict[str, tuple[int, int]]:
        from amqp.exceptions import NotFound

        from shared.messaging.broker import CONNECTION_ERRORS, connect
        for attempt in (1, 2):  # a connection idle since the last scrape may have gone
            try:
                if self._conn is None:
                    self._conn = connect(self.uri, heartbeat=0, name=self.name)
                counts = {}
                for queue in self.queues:
                    channel = self._conn.channel()
                    try:
                        _, messages, consumers = channel.queue_declare(queue, passive=True)
                        counts[queue] = (messages, consumers)
                        channel.close()
                    except NotFound:
                        pass  # the broker closed that channel; the service has not declared it yet
                return counts
            except CONNECTION_ERRORS:
                self.close()
                if attempt == 2:
                    raise
        return {}

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.collect()
            except Exception:  # gone either way
                pass


class ServiceField(logging.Filter):
    """Adds the service name to every record (JSON logs carry it as a field)."""

    def __init__(self, service: str = ""):
        super().__init__()
        self.service = service

    def filter(self, record):
        if not hasattr(record, "service"):
            record.service = self.service
        return True
