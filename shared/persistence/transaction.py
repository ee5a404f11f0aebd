"""The unit of work: one database transaction that also carries the events the
change causes (outbox) and the events it consumed (inbox)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from shared.contracts import Event, encode, new_event

from .types import utcnow


class Transaction:
    """What a handler works with: `session` for its own tables, `emit` for events.

    Several transactions can share one session (a consumer's batch): each keeps
    its own cause, and the outgoing events and handled ids are pooled."""

    def __init__(self, session: Session, producer: str, *, cause: Event | None = None,
                 outgoing: list | None = None, handled: list | None = None):
        self.session = session
        self.producer = producer
        self.cause = cause
        self.outgoing: list[Event] = [] if outgoing is None else outgoing
        self.handled: list[tuple[str, Event]] = [] if handled is None else handled

    def caused_by(self, event: Event) -> "Transaction":
        return Transaction(self.session, self.producer, cause=event,
                           outgoing=self.outgoing, handled=self.handled)

    def emit(self, schema_cls, data: dict, *, correlation_id: uuid.UUID | None = None,
             occurred_at: datetime | None = None) -> Event:
        """Queue an event to be written to the outbox in this transaction.

        The journey's correlation id comes from the event being handled; an HTTP
        action passes the one its aggregate stored."""
        if correlation_id is None:
            if self.cause is None:
                raise ValueError("an event emitted outside a handler needs its correlation_id")
            correlation_id = self.cause.correlation_id
        produced = new_event(schema_cls, data, correlation_id=correlation_id,
                             causation_id=self.cause.id if self.cause else None,
                             occurred_at=occurred_at)
        if produced.producer != self.producer:
            raise ValueError(f"{self.producer} cannot emit {produced.type}")
        self.outgoing.append(produced)
        return produced

    def mark_handled(self, consumer: str, event: Event) -> None:
        self.handled.append((consumer, event))

    def write_messaging_rows(self, outbox: Table, inbox: Table) -> None:
        now = utcnow()
        if self.outgoing:
            self.session.execute(insert(outbox), [{
                "event_id": str(e.id), "type": e.type, "version": e.version,
                "correlation_id": str(e.correlation_id),
                "causation_id": str(e.causation_id) if e.causation_id else None,
                "occurred_at": e.occurred_at, "body": encode(e).decode("utf-8"),
            } for e in self.outgoing])
        if self.handled:
            self.session.execute(insert(inbox), [{
                "consumer": consumer, "event_id": str(e.id), "type": e.type,
                "correlation_id": str(e.correlation_id), "occurred_at": e.occurred_at,
                "handled_at": now,
            } for consumer, e in self.handled])


def already_handled(session: Session, inbox: Table, consumer: str, event_ids) -> set[str]:
    ids = [str(i) for i in event_ids]
    if not ids:
        return set()
    rows = session.execute(select(inbox.c.event_id).where(
        inbox.c.consumer == consumer, inbox.c.event_id.in_(ids)))
    return {r[0] for r in rows}
