"""The test's own view of the broker: publish events as a producer would, and
watch the events the services emit (a sink queue), waiting with a timeout."""
from __future__ import annotations

import socket
import time

import amqp

from shared.contracts import Event, decode, encode
from shared.messaging import topology
from shared.messaging.broker import ConfirmingPublisher, Outgoing, connect


class Bus:
    def __init__(self, uri: str):
        self.uri = uri
        self.conn = connect(uri, name="test-bus")
        channel = self.conn.channel()
        topology.declare_consumer_queues(channel)
        channel.close()
        self.publisher = ConfirmingPublisher(self.conn)

    def publish(self, event: Event, body: bytes | None = None, routing_key: str | None = None,
                headers: dict | None = None) -> None:
        """Publish as the producer's relay would (or a raw body, to test bad input)."""
        message = Outgoing(key=1, body=body if body is not None else encode(event),
                           exchange=topology.EXCHANGE, routing_key=routing_key or event.type,
                           properties={"delivery_mode": 2, "content_type": "application/json",
                                       "message_id": str(event.id) if event else "raw",
                                       "application_headers": headers or {}})
        assert self.publisher.publish_all([message]) == [1], "broker did not confirm"

    def sink(self, *types: str) -> "Sink":
        return Sink(self.uri, types)

    def close(self):
        self.conn.collect()


class Sink:
    """An exclusive queue bound to some event types; `expect` waits for one."""

    def __init__(self, uri: str, types):
        self.conn = connect(uri, name="test-sink")
        self.channel = self.conn.channel()
        topology.declare_exchange(self.channel)
        self.queue, _, _ = self.channel.queue_declare("", exclusive=True, auto_delete=True)
        for type_ in types:
            self.channel.queue_bind(self.queue, topology.EXCHANGE, routing_key=type_)
        self.received: list[Event] = []
        self.channel.basic_consume(self.queue, callback=self._take, no_ack=True)

    def _take(self, message: amqp.Message):
        self.received.append(decode(message.body))

    def expect(self, type_: str, timeout: float = 15.0, where=lambda e: True) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.received:
                if event.type == type_ and where(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [e.type for e in self.received]
                raise AssertionError(f"no {type_} within {timeout}s; saw {seen}")
            try:
                self.conn.drain_events(timeout=min(remaining, 0.5))
            except socket.timeout:
                pass

    def drain(self, quiet: float = 0.5) -> list[Event]:
        """Everything that arrives until the queue stays quiet for `quiet` seconds."""
        while True:
            try:
                self.conn.drain_events(timeout=quiet)
            except socket.timeout:
                return list(self.received)

    def of_type(self, type_: str) -> list[Event]:
        return [e for e in self.received if e.type == type_]

    def close(self):
        self.conn.collect()


def raw_get(uri: str, queue: str):
    """One message from a queue (acked), or None."""
    conn = connect(uri, name="test-get")
    try:
        channel = conn.channel()
        return channel.basic_get(queue, no_ack=True)
    finally:
        conn.collect()
