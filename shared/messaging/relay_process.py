"""The outbox relay as a process of its own (one per service, beside it).

    python -m shared.messaging.relay_process --config services/billing/config.yaml billing

The service then runs with `OUTBOX_RELAY=false`; this process claims its outbox's
rows (shared/messaging/outbox.py: leases, so replicas publish each row once) and
publishes them with pika's asynchronous publisher confirms, a window of them in
flight, marking rows published only once confirmed — the same rules as the relay
inside a service, on a core of its own and without the per-message cost of
py-amqp's synchronous frames.

Like a service it outlives outages (database: it waits and claims again; broker:
it reconnects, giving its claims back), stops on SIGTERM within the stop timeout
(the confirms in flight recorded, the rest released) and exits 1 when it cannot
go on. `RELAY_HTTP` (host:port) serves /health/live, /health/ready and /metrics.
"""
from __future__ import annotations

import argparse
import logging
import logging.config
import os
import signal
import socket
import sys
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import import_module

import pika
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from shared.persistence.engine import make_engine
from shared.resilience import Backoff, is_database_outage

from . import topology
from .broker import broker_uris
from .outbox import Outbox, message_properties

log = logging.getLogger("shared.relay")

CONFIRM_TIMEOUT = 30.0


def _send_coalesced() -> None:
    """pika buffers each frame of a publish separately (three a message) and sends
    them one socket call each; join what is buffered, up to 64 KiB, into one send.
    The bytes and their order are unchanged."""
    from pika.adapters.utils.io_services_utils import _AsyncTransportBase
    produce = _AsyncTransportBase._produce

    def _produce(self):
        buffers = self._tx_buffers
        if len(buffers) > 1:
            joined, size = [], 0
            while buffers and size < 65536:
                chunk = buffers.popleft()
                joined.append(chunk)
                size += len(chunk)
            buffers.appendleft(b"".join(joined))
        produce(self)

    _AsyncTransportBase._produce = _produce


_send_coalesced()


class RelayProcess:
    def __init__(self, service: str, config: dict):
        self.service = service
        self.uris = broker_uris(config["AMQP_URI"])
        self.batch = int(config.get("OUTBOX_BATCH", 500))
        self.window = int(config.get("OUTBOX_WINDOW", 2000))
        self.heartbeat = int(config.get("AMQP_HEARTBEAT", 30))
        self.stop_seconds = float(config.get("STOP_TIMEOUT_SECONDS", 8))
        self.name = f"{service}-relay@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        table = import_module(f"services.{service}.models").metadata.tables["outbox"]
        self.engine = make_engine(config["DATABASE_URL"])
        self.outbox = Outbox(self.engine, table, self.name,
                             lease=timedelta(seconds=float(config.get("OUTBOX_LEASE_SECONDS", 60))))
        self.connection: pika.SelectConnection | None = None
        self.channel = None
        self.stopping = False
        self.exit_code = 0
        self.node = 0
        self.broker_backoff, self.database_backoff = Backoff(), Backoff()
        self.idle = 0.005
        self._reset_flight()
        self.beat_at = time.monotonic()
        self.waiting_on: str | None = None
        self.blocked = False
        self.metrics = CollectorRegistry()
        self.published = Counter("cea_relay_published_total", "Events confirmed by the broker",
                                 registry=self.metrics)
        self.in_flight_gauge = Gauge("cea_relay_in_flight", "Events published, not yet confirmed",
                                     registry=self.metrics)

    def _reset_flight(self):
        self.pending: dict[int, tuple[int, float, str]] = {}  # delivery tag -> (seq, sent at, event id)
        self.next_tag = 1
        self.confirmed: list[int] = []
        self.failed: list[int] = []
        self.returned: set[str] = set()
        self.settled_at = time.monotonic()

    # -- life ---------------------------------------------------------------------

    def run(self) -> int:
        while not self.stopping:
            self._connect()
            self.connection.ioloop.start()  # until the connection closes
            self._after_connection()
        return self.exit_code

    def stop(self) -> None:
        """SIGTERM: no more claims; the confirms in flight get `stop_seconds`."""
        if self.stopping:
            return
        self.stopping = True
        signal.alarm(int(self.stop_seconds) + 2)  # nothing may hold the process past this
        if self.connection is not None and self.connection.is_open:
            self.connection.ioloop.add_callback_threadsafe(self._drain_then_close)

    def _connect(self):
        uri = self.uris[self.node % len(self.uris)]
        params = pika.URLParameters(uri)
        params.heartbeat = self.heartbeat
        params.blocked_connection_timeout = None
        params.client_properties = {"connection_name": self.name}
        self.connection = pika.SelectConnection(
            params, on_open_callback=self._on_open, on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_close)
        self.connection.add_on_connection_blocked_callback(lambda *_: setattr(self, "blocked", True))
        self.connection.add_on_connection_unblocked_callback(lambda *_: setattr(self, "blocked", False))

    def _on_open_error(self, connection, error):
        log.warning("relay cannot reach the broker at node %d: %s", self.node % len(self.uris), error)
        self.waiting_on = "broker"
        self.node += 1
        connection.ioloop.stop()

    def _on_close(self, connection, reason):
        if not self.stopping:
            log.warning("relay lost the broker: %s", reason)
        connection.ioloop.stop()

    def _after_connection(self):
        """Between connections: what was in flight is anyone's again; back off."""
        self.channel, self.blocked = None, False  # a new connection learns the alarm anew
        self._give_back()
        if not self.stopping:
            delay = self.broker_backoff.next()
            deadline = time.monotonic() + delay
            while not self.stopping and time.monotonic() < deadline:
                self.beat_at = time.monotonic()
                time.sleep(0.1)

    def _give_back(self):
        try:
            if self.confirmed or self.failed:
                self.outbox.mark(self.confirmed, self.failed)
            self.outbox.release()
        except Exception as exc:  # the lease runs out anyway
            log.warning("relay could not give its claims back: %s", exc)
        self._reset_flight()

    def _on_open(self, connection):
        connection.channel(on_open_callback=self._on_channel)

    def _on_channel(self, channel):
        self.channel = channel
        topology.declare_consumer_queues(_Declarer(channel, self._declared))

    def _declared(self):
        self.channel.confirm_delivery(self._on_confirm)
        self.channel.add_on_return_callback(self._on_return)
        self.broker_backoff.reset()
        if self.waiting_on == "broker":
            self.waiting_on = None
        log.info("relay %s publishing", self.name)
        self._pump()

    # -- the pump --------------------------------------------------------------------

    def _pump(self):
        if self.stopping or self.channel is None or not self.channel.is_open:
            return
        self.beat_at = time.monotonic()
        claimed = 0
        room = self.window - len(self.pending)
        if not self.blocked and room >= min(self.batch, self.window // 4):
            try:
                rows = self.outbox.claim(min(room, self.batch))
            except Exception as exc:
                self._database_trouble(exc)
                return
            for row in rows:
                self.channel.basic_publish(topology.EXCHANGE, row.type, row.body.encode("utf-8"),
                                           pika.BasicProperties(**message_properties(row)),
                                           mandatory=topology.routed(row.type))
                self.pending[self.next_tag] = (row.seq, time.monotonic(), row.event_id)
                self.next_tag += 1
            claimed = len(rows)
        self._check_timeout()
        if not self._record_settled(idle=not claimed and not self.pending):
            return
        if claimed:
            self.idle = 0.005
            self.connection.ioloop.call_later(0, self._pump)
        else:  # nothing to publish: look again soon, less often the longer it stays so
            self.connection.ioloop.call_later(self.idle, self._pump)
            self.idle = min(self.idle * 2, 0.2)
        self.in_flight_gauge.set(len(self.pending))

    def _record_settled(self, idle: bool) -> bool:
        """Mark what the broker settled: a window's worth, or after 50 ms, or when idle."""
        due = len(self.confirmed) >= self.batch or time.monotonic() - self.settled_at > 0.05 or idle
        if (self.confirmed or self.failed) and due:
            try:
                self.outbox.mark(self.confirmed, self.failed)
            except Exception as exc:
                self._database_trouble(exc)
                return False
            self.published.inc(len(self.confirmed))
            if self.failed:
                log.warning("relay: %d events not confirmed, will retry", len(self.failed))
            self.confirmed, self.failed = [], []
            self.settled_at = time.monotonic()
        if self.waiting_on == "database":
            self.waiting_on = None
            self.database_backoff.reset()
        return True

    def _database_trouble(self, exc):
        if not is_database_outage(exc):
            log.critical("relay cannot go on; exiting so that it is restarted", exc_info=exc)
            self.exit_code = 1
            self.stopping = True
            self.connection.close()
            return
        if self.waiting_on != "database":
            log.warning("relay waits for the database: %s", str(exc).splitlines()[0][:200])
        self.waiting_on = "database"
        self.beat_at = time.monotonic()
        self.connection.ioloop.call_later(self.database_backoff.next(), self._pump)

    def _on_confirm(self, frame):
        method = frame.method
        ok = isinstance(method, pika.spec.Basic.Ack)
        tags = ([t for t in self.pending if t <= method.delivery_tag] if method.multiple
                else [method.delivery_tag])
        for tag in tags:
            entry = self.pending.pop(tag, None)
            if entry is not None:
                seq, _, event_id = entry
                routed = event_id not in self.returned
                self.returned.discard(event_id)
                (self.confirmed if ok and routed else self.failed).append(seq)

    def _on_return(self, channel, method, properties, body):
        log.warning("relay: %s was routed nowhere; it will be published again", properties.message_id)
        self.returned.add(properties.message_id)

    def _check_timeout(self):
        if self.pending:
            oldest = min(sent for _, sent, _ in self.pending.values())
            if time.monotonic() - oldest > CONFIRM_TIMEOUT:
                log.warning("relay: %d events unconfirmed for %.0f s; reconnecting", len(self.pending),
                            CONFIRM_TIMEOUT)
                self.connection.close()

    def _drain_then_close(self):
        deadline = time.monotonic() + max(self.stop_seconds - 2, 1)

        def wait():
            if self.pending and time.monotonic() < deadline and self.connection.is_open:
                self.connection.ioloop.call_later(0.05, wait)
                return
            try:
                self.outbox.mark(self.confirmed, self.failed)
                self.confirmed, self.failed = [], []
            except Exception as exc:  # published again later; inboxes absorb it
                log.warning("relay could not record its last confirms: %s", exc)
            if self.connection.is_open:
                self.connection.close()
        wait()

    # -- probes ------------------------------------------------------------------------

    def live(self) -> bool:
        return time.monotonic() - self.beat_at < 120

    def ready(self) -> bool:
        return self.channel is not None and self.channel.is_open and not self.waiting_on and not self.blocked


def serve_probes(relay: RelayProcess, address: str) -> ThreadingHTTPServer:
    host, _, port = address.rpartition(":")

    class Probes(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/health/live":
                status, body = (200, b"live") if relay.live() else (503, b"stalled")
            elif self.path == "/health/ready":
                status, body = (200, b"ready") if relay.ready() else (503, b"not ready")
            elif self.path == "/relay/alarm":  # the service asks: does the broker refuse publishes?
                status, body = 200, b"the broker refuses publishes (resource alarm)" if relay.blocked else b""
            elif self.path == "/metrics":
                status, body = 200, generate_latest(relay.metrics)
            else:
                status, body = 404, b"not found"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # probes are not news
            pass

    server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), Probes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Declarer:
    """topology's declarations, made on pika's asynchronous channel one after the
    other, then `done()`."""

    def __init__(self, channel, done):
        self.channel, self.done, self.steps = channel, done, []

    def exchange_declare(self, exchange, kind, durable, auto_delete):
        self.steps.append(lambda cb: self.channel.exchange_declare(exchange, kind, durable=durable,
                                                                   auto_delete=auto_delete, callback=cb))
        self._start()

    def queue_declare(self, queue, durable, auto_delete, arguments):
        self.steps.append(lambda cb: self.channel.queue_declare(
            queue, durable=durable, auto_delete=auto_delete, arguments=arguments, callback=cb))
        self._start()

    def queue_bind(self, queue, exchange, routing_key):
        self.steps.append(lambda cb: self.channel.queue_bind(queue, exchange, routing_key=routing_key,
                                                             callback=cb))
        self._start()

    def _start(self):
        if len(self.steps) == 1:
            self.channel.connection.ioloop.call_later(0, self._next)

    def _next(self, _frame=None):
        if self.steps:
            self.steps.pop(0)(self._next)
        else:
            self.done()


def main(argv=None) -> int:
    from shared.settings import load_config  # no eventlet here: pika runs its own loop
    parser = argparse.ArgumentParser(prog="python -m shared.messaging.relay_process", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the service's config.yaml (or a JSON of settings)")
    parser.add_argument("service")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if "LOGGING" in config:
        logging.config.dictConfig(config["LOGGING"])
    else:
        logging.basicConfig(level=logging.INFO)
    relay = RelayProcess(args.service, config)
    if config.get("RELAY_HTTP"):
        serve_probes(relay, str(config["RELAY_HTTP"]))
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    profile = None
    if os.environ.get("RELAY_PROFILE"):  # the benchmarks' profile of the relay (docs/decisions.md)
        import cProfile
        profile = cProfile.Profile()
        profile.enable()
    code = relay.run()
    if profile:
        profile.disable()
        profile.dump_stats(os.environ["RELAY_PROFILE"])
    relay.engine.dispose()
    return code


if __name__ == "__main__":
    sys.exit(main())
