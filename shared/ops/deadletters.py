"""Dead letters, for operators: list, show, replay and discard.

A dead letter keeps its body and original headers, plus x-cea-error,
x-cea-error-type, x-cea-attempts, x-cea-reason and x-cea-dead-lettered-at.
Replay sends it back to its service's own queue only (not to every consumer),
with the attempt count reset."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pika

from shared.messaging import topology


@dataclass
class DeadLetter:
    delivery_tag: int
    message_id: str
    type: str
    headers: dict
    body: bytes

    @property
    def error(self) -> str:
        return str(self.headers.get("x-cea-error", ""))


# What an operator needs of an event's data: which journey, order, sitting... and when.
# Names, ID numbers (masked or hashed), mobiles and titles are never shown to them.
_OPERATIONAL = ("_id", "_at", "_on")
_OPERATIONAL_KEYS = {"level", "channel", "attempt_number", "serial", "change", "settlement"}


def operational_view(letter: DeadLetter) -> dict:
    """A dead letter as an operator sees it: its headers and envelope, and of its
    data only ids, times and codes; every other value is withheld."""
    try:
        event = json.loads(letter.body)
    except ValueError:
        return {"headers": letter.headers, "body": f"<{len(letter.body)} bytes, not JSON: withheld>"}
    if not isinstance(event, dict):
        return {"headers": letter.headers, "body": "<not an event: withheld>"}
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    shown = {k: (v if k.endswith(_OPERATIONAL) or k in _OPERATIONAL_KEYS else "<withheld>")
             for k, v in data.items()}
    return {"headers": letter.headers, "event": {**{k: v for k, v in event.items() if k != "data"},
                                                 "data": shown}}


class DeadLetters:
    def __init__(self, amqp_uri: str, service: str):
        self.service = service
        self.queue = topology.dead_letter_queue(service)
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def close(self):
        if self.connection.is_open:
            self.connection.close()  # whatever was not acked goes back, in order

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fetch(self, limit: int = 1000) -> list[DeadLetter]:
        """Take up to `limit` dead letters without acking them."""
        letters = []
        while len(letters) < limit:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=False)
            if method is None:
                break
            letters.append(DeadLetter(method.delivery_tag, properties.message_id or "",
                                      properties.type or "", dict(properties.headers or {}), body))
        return letters

    def replay(self, letter: DeadLetter) -> None:
        headers = {k: v for k, v in letter.headers.items() if k != "x-cea-attempts"}
        headers["x-cea-replayed-at"] = datetime.now(timezone.utc).isoformat()
        self.channel.basic_publish("", topology.service_queue(self.service), letter.body,
                                   pika.BasicProperties(delivery_mode=2, message_id=letter.message_id,
                                                        type=letter.type, content_type="application/json",
                                                        headers=headers), mandatory=True)
        self.channel.basic_ack(letter.delivery_tag)

    def discard(self, letter: DeadLetter) -> None:
        self.channel.basic_ack(letter.delivery_tag)
