"""The fast middle tier: a service's actions (or its handlers, called as written)
inside a real transaction on its own migrated SQLite database, without broker or
service container.

    def test_a_refund_closes_the_account(actions_db):
        db = actions_db("learning")
        with db.transaction() as tx:
            actions.record_learners(tx, [db.arrived(enrolled)])
        ...
        assert db.emitted("learning.account-opened")

The database is migrated by the service's Alembic history, as the service does at
start (shared/persistence/migrations.py); the transaction is the service's own
`Transaction` and commits as `Database.transaction` does: what `tx.emit` queued is
written to the outbox, which `emitted` reads back. Use it for a database effect or
an emitted event; delivery (retries, dead letters, ordering, the relay) stays with
the broker tests.
"""
from __future__ import annotations

import importlib
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.contracts import Event, decode, encode
from shared.persistence import migrations
from shared.persistence.engine import make_engine
from shared.persistence.transaction import Transaction


class ActionsDatabase:
    """One service's migrated SQLite database and its unit of work."""

    def __init__(self, service: str, directory: Path):
        self.service = service
        self.package = f"services.{service}"
        metadata = importlib.import_module(self.package + ".models").metadata
        self.outbox, self.inbox = metadata.tables["outbox"], metadata.tables["inbox"]
        self.engine = make_engine(f"sqlite:///{directory}/{service}.sqlite3")
        migrations.upgrade(self.engine, self.package)

    @contextmanager
    def transaction(self, cause: Event | None = None):
        """The service's `Transaction`, committed with its outbox and inbox rows when
        the block ends (rolled back if it raises)."""
        with Session(self.engine.execution_options(cea_write=True), expire_on_commit=False) as session:
            tx = Transaction(session, self.service, cause=cause)
            yield tx
            tx.write_messaging_rows(self.outbox, self.inbox)
            session.commit()

    @contextmanager
    def read(self):
        with Session(self.engine) as session:
            yield session

    def handle(self, handler, event: Event) -> None:
        """One event through an `@event_handler` method, called as written
        (`LearningService().close_account`): `handler(tx, event)`, or `[event]` for a
        batch handler: in its own transaction, caused by the event,
        the event as it arrives (decoded from the wire form), marked handled."""
        event = self.arrived(event)
        with self.transaction(cause=event) as tx:
            handler(tx, [event] if getattr(handler, "batch", False) else event)
            tx.mark_handled(self.service, event)

    def emitted(self, event_type: str | None = None) -> list[Event]:
        """What the committed transactions emitted (the outbox), in order."""
        query = select(self.outbox.c.body).order_by(self.outbox.c.seq)
        if event_type is not None:
            query = query.where(self.outbox.c.type == event_type)
        with self.engine.connect() as conn:
            return [decode(body) for body in conn.scalars(query)]

    @staticmethod
    def arrived(event: Event) -> Event:
        """The event as a consumer receives it: data loaded into Python types."""
        return decode(encode(event))

    def close(self) -> None:
        self.engine.dispose()
