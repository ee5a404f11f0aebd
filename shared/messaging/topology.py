"""Names and declarations of everything the services put on the broker.

One durable topic exchange carries every event, routed by its type. Each service
has one durable queue bound to the types it consumes, a retry queue per backoff
delay (dead-lettering back into the service queue when the delay is over) and a
dead-letter queue for what it gave up on.

Every service declares every consumer's queue from the contract registry before
it publishes, so an event is never routed to nowhere because its consumer has not
started yet.
"""
from __future__ import annotations

import functools
import os

from shared.contracts import REGISTRY

EXCHANGE = "cea.events"


def service_queue(service: str) -> str:
    return f"{service}.events"


def dead_letter_queue(service: str) -> str:
    return f"{service}.dead-letter"


def retry_queue(service: str, delay_ms: int) -> str:
    return f"{service}.retry.{delay_ms}ms"


# On a cluster, a message that keeps killing its consumer (redelivered this many
# times) goes to the dead-letter queue instead of crash-looping the service forever.
DELIVERY_LIMIT = 50


def quorum() -> bool:
    return os.environ.get("CEA_QUEUE_TYPE", "classic") == "quorum"


def queue_arguments() -> dict:
    """`CEA_QUEUE_TYPE=quorum` on a RabbitMQ cluster (replicated, Raft); classic on one node."""
    return {"x-queue-type": "quorum" if quorum() else "classic"}


def _dead_letter_to(queue: str) -> dict:
    """Quorum queues dead-letter at-least-once (never lost when a node fails midway);
    that strategy needs overflow=reject-publish."""
    return {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue,
            "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


def service_queue_arguments(service: str) -> dict:
    args = queue_arguments()
    if quorum():
        args.update(_dead_letter_to(dead_letter_queue(service)), **{"x-delivery-limit": DELIVERY_LIMIT})
    return args


@functools.lru_cache(maxsize=None)
def routed(type_: str) -> bool:
    """Whether some service consumes `type_`. An event nobody consumes yet is still
    published (a fact for later consumers, and the audit), but not as `mandatory`:
    the broker has nowhere to route it and would return it forever."""
    return any(type_ in types for types in consumers().values())


def consumers() -> dict[str, set[str]]:
    """service -> event types it consumes, as the contracts declare."""
    found: dict[str, set[str]] = {}
    for c in REGISTRY.values():
        for service in c.consumers:
            found.setdefault(service, set()).add(c.type)
    return found


def declare_exchange(channel) -> None:
    channel.exchange_declare(EXCHANGE, "topic", durable=True, auto_delete=False)


def declare_service_queue(channel, service: str, types) -> None:
    channel.queue_declare(service_queue(service), durable=True, auto_delete=False,
                          arguments=service_queue_arguments(service))
    for type_ in sorted(types):
        channel.queue_bind(service_queue(service), EXCHANGE, routing_key=type_)


def declare_consumer_queues(channel) -> None:
    """Every consumer queue the contracts name, with its bindings."""
    declare_exchange(channel)
    for service, types in consumers().items():
        declare_service_queue(channel, service, types)


def declare_retry_and_dead_letter(channel, service: str, delays_ms) -> None:
    for delay in delays_ms:
        back = _dead_letter_to(service_queue(service)) if quorum() else {
            "x-dead-letter-exchange": "", "x-dead-letter-routing-key": service_queue(service)}
        channel.queue_declare(retry_queue(service, delay), durable=True, auto_delete=False,
                              arguments={**queue_arguments(), "x-message-ttl": int(delay), **back})
    channel.queue_declare(dead_letter_queue(service), durable=True, auto_delete=False,
                          arguments=queue_arguments())
