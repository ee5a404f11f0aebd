"""Opening py-amqp connections from an AMQP URI, and a publisher that waits for
broker confirms a window at a time (a disk sync per window, not per message)."""
from __future__ import annotations

import errno
import socket
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import amqp

CONNECTION_ERRORS = (OSError, socket.timeout, amqp.exceptions.ConnectionError,
                     amqp.exceptions.RecoverableConnectionError, amqp.exceptions.ChannelError,
                     amqp.exceptions.AMQPError)


def broker_uris(uri: str) -> list[str]:
    """`AMQP_URI` names one broker, or the nodes of a cluster separated by `;`
    (kombu's failover form): `amqp://u:p@n1:5672/v;amqp://u:p@n2:5672/v`."""
    return [u.strip() for u in uri.split(";") if u.strip()]


_next_node = 0


def connect(uri: str, *, heartbeat: int = 30, name: str = "cea", **callbacks) -> amqp.Connection:
    """A connection to the first node that answers, trying each in turn from the one
    after the node used last (so clients spread out and skip a node that is down)."""
    global _next_node
    uris = broker_uris(uri)
    failure: BaseException | None = None
    for i in range(len(uris)):
        index = (_next_node + i) % len(uris)
        try:
            conn = _connect_one(uris[index], heartbeat, name, callbacks)
        except CONNECTION_ERRORS as exc:
            failure = exc
            continue
        _next_node = index + 1
        return conn
    raise failure


def _connect_one(uri: str, heartbeat: int, name: str, callbacks: dict) -> amqp.Connection:
    parts = urlparse(uri)
    vhost = unquote(parts.path[1:]) if parts.path and parts.path != "/" else "/"
    conn = amqp.Connection(
        host=f"{parts.hostname or 'localhost'}:{parts.port or 5672}",
        userid=unquote(parts.username or "guest"), password=unquote(parts.password or "guest"),
        virtual_host=vhost, heartbeat=heartbeat, connect_timeout=10,
        client_properties={"connection_name": name}, **callbacks)
    try:
        conn.connect()
    except BaseException:
        try:
            conn.collect()
        except Exception:  # nothing was open
            pass
        raise
    _read_in_chunks(conn.transport)
    return conn


def _read_in_chunks(transport, chunk: int = 65536) -> None:
    """py-amqp reads each frame in three exact-sized recv calls (nine a message);
    read what the socket has, up to 64 KiB, and cut frames from that instead.

    Keeps py-amqp's contract: `_read(n)` returns exactly n bytes, and what a frame
    interrupted by a timeout puts back in `transport._read_buffer` is read first."""
    sock = transport.sock
    state = {"data": b"", "at": 0}

    def _read(n, initial=False, _errnos=(errno.EAGAIN, errno.EINTR)):
        if transport._read_buffer:  # a frame cut short by a timeout, given back
            state["data"] = transport._read_buffer + state["data"][state["at"]:]
            state["at"], transport._read_buffer = 0, b""
        data, at = state["data"], state["at"]
        while len(data) - at < n:
            try:
                more = sock.recv(max(chunk, n))
            except OSError as exc:
                if exc.errno in _errnos:
                    if initial and transport.raise_on_initial_eintr:
                        raise socket.timeout()
                    continue
                raise
            if not more:
                raise OSError("Server unexpectedly closed connection")
            data, at = data[at:] + more, 0
            state["data"], state["at"] = data, at
        state["at"] = at + n
        return data[at:at + n]

    transport._read = _read


def keep_alive(conn: amqp.Connection) -> None:
    """Read what the broker sent (heartbeats, a close) and send our heartbeat."""
    try:
        conn.drain_events(timeout=0.001)
    except socket.timeout:
        pass
    conn.heartbeat_tick()


class ConfirmTimeout(Exception):
    pass


@dataclass
class Outgoing:
    """One message to publish; `key` identifies it in the result. `mandatory`: a
    message the broker cannot route comes back (and counts as failed)."""
    key: object
    body: bytes
    exchange: str
    routing_key: str
    properties: dict
    mandatory: bool = True


class ConfirmingPublisher:
    """Publishes on a channel in confirm mode and tracks the broker's confirms.

    `publish` does not wait: confirms arrive while the connection is drained and
    are collected with `take_settled`, so a window of messages can be in flight
    (the broker confirms persistent messages a disk sync at a time). A nack, a
    return (unroutable) or a timeout counts as failed, for the caller to retry.
    `publish_all` is the waiting form."""

    def __init__(self, connection: amqp.Connection, confirm_timeout: float = 30.0):
        self.connection = connection
        self.channel = connection.channel()
        self.channel.confirm_select()
        self.confirm_timeout = confirm_timeout
        self._next_tag = 1
        self._pending: dict[int, tuple] = {}  # tag -> (key, message_id, sent_at)
        self._confirmed: list = []
        self._failed: list = []
        self._returned: set[str] = set()
        self.channel.events["basic_ack"].add(self._on_ack)
        self.channel.events["basic_nack"].add(self._on_nack)
        self.channel.events["basic_return"].add(self._on_return)

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def _settle(self, tag, multiple, ok):
        tags = [t for t in self._pending if t <= tag] if multiple else [tag]
        for t in tags:
            entry = self._pending.pop(t, None)
            if entry is None:
                continue
            key, message_id, _ = entry
            if ok and message_id not in self._returned:
                self._confirmed.append(key)
            else:
                self._returned.discard(message_id)
                self._failed.append(key)

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, True)

    def _on_nack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, False)

    def _on_return(self, exc, exchange, routing_key, message):
        self._returned.add(message.properties.get("message_id"))

    def publish(self, messages: list[Outgoing], mandatory: bool = True) -> None:
        now = time.monotonic()
        for m in messages:
            self.channel.basic_publish(amqp.Message(m.body, **m.properties), exchange=m.exchange,
                                       routing_key=m.routing_key, mandatory=mandatory and m.mandatory)
            self._pending[self._next_tag] = (m.key, m.properties.get("message_id"), now)
            self._next_tag += 1

    def take_settled(self) -> tuple[list, list]:
        confirmed, failed = self._confirmed, self._failed
        self._confirmed, self._failed = [], []
        return confirmed, failed

    def check_timeout(self) -> None:
        if self._pending:
            oldest = min(sent for _, _, sent in self._pending.values())
            if time.monotonic() - oldest > self.confirm_timeout:
                raise ConfirmTimeout(f"{len(self._pending)} messages unconfirmed")

    def publish_all(self, messages: list[Outgoing], mandatory: bool = True) -> list:
        """Publish and wait until every one is settled; returns the confirmed keys."""
        self.take_settled()
        self.publish(messages, mandatory)
        while self._pending:
            try:
                self.connection.drain_events(timeout=1.0)
            except socket.timeout:
                self.check_timeout()
        return self.take_settled()[0]
