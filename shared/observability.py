"""Metrics (Prometheus) and JSON logs, one registry per service container."""
from __future__ import annotations

import logging

from nameko.extensions import SharedExtension
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily


class Metrics(SharedExtension):
    def __init__(self):
        super().__init__()
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter("cea_events_total", "Events taken from the service queue, by outcome",
                              ["type", "outcome"], registry=self.registry)
        self.batch_seconds = Histogram("cea_event_batch_seconds", "Time to handle and commit a batch",
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

    def gauge(self, name: str, help_text: str, read):
        """A value read at scrape time (outbox backlog, connections)."""
        self._gauges.append((name, help_text, read))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Gauges:
    def __init__(self, gauges):
        self.gauges = gauges

    def describe(self):
        return []

    def collect(self):
        for name, help_text, read in self.gauges:
            family = GaugeMetricFamily(name, help_text)
            try:
                family.add_metric([], float(read()))
            except Exception:  # a scrape must not fail because one source is down
                family.add_metric([], float("nan"))
            yield family


class ServiceField(logging.Filter):
    """Adds the service name to every record (JSON logs carry it as a field)."""

    def __init__(self, service: str = ""):
        super().__init__()
        self.service = service

    def filter(self, record):
        if not hasattr(record, "service"):
            record.service = self.service
        return True
