"""The unit of work: one database transaction that also carries the events the
change causes (outbox) and the events it consumed (inbox)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

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

    def insert_rows(self, model, rows: list[dict]) -> None:
        """Rows of a model's table, one bulk insert (SQLAlchemy Core: no ORM objects
        to track), for a batch handler's effect rows."""
        if rows:
            self.session.connection().execute(insert(getattr(model, "__table__", model)), rows)

    def insert_absent(self, model, rows: list[dict], key: str) -> None:
        """A projection's rows: those whose `key` is not recorded yet (the first event
        of an enrollment records it; a later one changes nothing), one query and one
        insert for a batch."""
        table = getattr(model, "__table__", model)
        wanted = {row[key]: row for row in rows}  # the first of a key in the batch counts
        if not wanted:
            return
        known = set(self.session.connection().scalars(select(table.c[key]).where(table.c[key].in_(wanted))))
        self.insert_rows(table, [row for k, row in wanted.items() if k not in known])

    def mark_handled(self, consumer: str, event: Event) -> None:
        self.handled.append((consumer, event))

    def write_messaging_rows(self, outbox: Table, inbox: Table) -> None:
        """The outbox and inbox rows of the transaction, one bulk insert each."""
        now = utcnow()
        outgoing = [(str(e.id), e.type, e.version, str(e.correlation_id),
                     str(e.causation_id) if e.causation_id else None, e.occurred_at,
                     encode(e).decode("utf-8")) for e in self.outgoing]
        handled = [(consumer, str(e.id), e.type, str(e.correlation_id), e.occurred_at, now)
                   for consumer, e in self.handled]
        connection = self.session.connection()
        if connection.dialect.name == "sqlite":
            _insert_sqlite(connection, outbox, OUTBOX_COLUMNS, outgoing)
            _insert_sqlite(connection, inbox, INBOX_COLUMNS, handled)
            return
        if outgoing:
            connection.execute(insert(outbox), [dict(zip(OUTBOX_COLUMNS, row)) for row in outgoing])
        if handled:
            connection.execute(insert(inbox), [dict(zip(INBOX_COLUMNS, row)) for row in handled])


OUTBOX_COLUMNS = ("event_id", "type", "version", "correlation_id", "causation_id", "occurred_at", "body")
INBOX_COLUMNS = ("consumer", "event_id", "type", "correlation_id", "occurred_at", "handled_at")


def _insert_sqlite(connection, table: Table, columns: tuple, rows: list[tuple]) -> None:
    """A plain executemany: SQLAlchemy's per-value bind processing costs more than
    SQLite's insert here (every event writes two of these rows). Instants go in as
    the UTC text SQLAlchemy stores them as (UtcDateTime on SQLite)."""
    if not rows:
        return
    rows = [tuple(_sqlite_instant(v) if isinstance(v, datetime) else v for v in row) for row in rows]
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) "
                               f"VALUES ({', '.join('?' * len(columns))})", rows)


def _sqlite_instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: time must be timezone-aware")
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def already_handled(session: Session, inbox: Table, consumer: str, event_ids) -> set[str]:
    ids = [str(i) for i in event_ids]
    if not ids:
        return set()
    rows = session.execute(select(inbox.c.event_id).where(
        inbox.c.consumer == consumer, inbox.c.event_id.in_(ids)))
    return {r[0] for r in rows}
