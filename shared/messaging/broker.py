"""Opening py-amqp connections from an AMQP URI, and a publisher that waits for
broker confirms a window at a time (a disk sync per window, not per message)."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import amqp

CONNECTION_ERRORS = (OSError, socket.timeout, amqp.exceptions.ConnectionError,
                     amqp.exceptions.RecoverableConnectionError, amqp.exceptions.ChannelError,
                     amqp.exceptions.AMQPError)


def connect(uri: str, *, heartbeat: int = 30, name: str = "cea") -> amqp.Connection:
    parts = urlparse(uri)
    vhost = unquote(parts.path[1:]) if parts.path and parts.path != "/" else "/"
    conn = amqp.Connection(
        host=f"{parts.hostname or 'localhost'}:{parts.port or 5672}",
        userid=unquote(parts.username or "guest"), password=unquote(parts.password or "guest"),
        virtual_host=vhost, heartbeat=heartbeat, connect_timeout=10,
        client_properties={"connection_name": name})
    conn.connect()
    return conn


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
    """One message to publish; `key` identifies it in the result."""
    key: object
    body: bytes
    exchange: str
    routing_key: str
    properties: dict


class ConfirmingPublisher:
    """Publishes on a channel in confirm mode; `publish_all` returns the keys the
    broker confirmed as routed. A nack, a return (unroutable) or a timeout leaves
    a message unconfirmed for the caller to try again."""

    def __init__(self, connection: amqp.Connection, confirm_timeout: float = 30.0):
        self.connection = connection
        self.channel = connection.channel()
        self.channel.confirm_select()
        self.confirm_timeout = confirm_timeout
        self._next_tag = 1
        self._pending: dict[int, object] = {}
        self._confirmed: list = []
        self._returned: set[str] = set()
        self.channel.events["basic_ack"].add(self._on_ack)
        self.channel.events["basic_nack"].add(self._on_nack)
        self.channel.events["basic_return"].add(self._on_return)

    def _settle(self, tag, multiple, ok):
        tags = [t for t in self._pending if t <= tag] if multiple else [tag]
        for t in tags:
            key, message_id = self._pending.pop(t, (None, None))
            if ok and message_id not in self._returned:
                self._confirmed.append(key)

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, True)

    def _on_nack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, False)

    def _on_return(self, exc, exchange, routing_key, message):
        self._returned.add(message.properties.get("message_id"))

    def publish_all(self, messages: list[Outgoing], mandatory: bool = True) -> list:
        self._confirmed = []
        self._returned = set()
        for m in messages:
            msg = amqp.Message(m.body, **m.properties)
            self.channel.basic_publish(msg, exchange=m.exchange, routing_key=m.routing_key,
                                       mandatory=mandatory)
            self._pending[self._next_tag] = (m.key, m.properties.get("message_id"))
            self._next_tag += 1
        waited = 0.0
        while self._pending:
            try:
                self.connection.drain_events(timeout=1.0)
            except socket.timeout:
                waited += 1.0
                if waited >= self.confirm_timeout:
                    self._pending.clear()
                    raise ConfirmTimeout(f"{len(messages) - len(self._confirmed)} unconfirmed")
        return self._confirmed
