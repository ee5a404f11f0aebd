"""A service's database inside nameko: one engine per container, migrated at setup.

Migrating at setup suits one process (`make run`, the tests). In Kubernetes a Job per
service migrates (`python -m shared.ops migrate <service>`) and `CEA_MIGRATE_ON_START=false`
keeps every replica from doing it again: such a replica refuses to start (exit 2, saying
so) while the schema is not at its head, rather than run its loops against missing tables.

Conventions: the service class lives in `<package>.service`, its tables in
`<package>.models.metadata` (with the outbox and inbox), its Alembic history in
`<package>/migrations`. `DATABASE_URL` in the container config chooses the database.
"""
from __future__ import annotations

import importlib
import logging
import os
from contextlib import contextmanager, nullcontext

import eventlet
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider, SharedExtension
from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.errors import Unavailable
from shared.settings import CannotStart

from . import migrations
from .engine import is_sqlite, make_engine
from .transaction import Transaction

log = logging.getLogger(__name__)


def migrate_on_start() -> bool:
    return os.environ.get("CEA_MIGRATE_ON_START", "true").strip().lower() not in ("false", "0", "no")


class Database(SharedExtension):
    def __init__(self):
        super().__init__()
        self._commit_listeners = []  # filled by sibling extensions' setup, which may run first
        # Set by the outbox relay: the broker's reason while it refuses publishes.
        self.publishing_refused = lambda: None

    def setup(self):
        self.package = self.container.service_cls.__module__.rsplit(".", 1)[0]
        self.producer = self.container.service_name
        metadata = importlib.import_module(self.package + ".models").metadata
        self.outbox = metadata.tables["outbox"]
        self.inbox = metadata.tables["inbox"]
        self.engine = make_engine(self.container.config["DATABASE_URL"])
        self.write_engine = self.engine.execution_options(cea_write=True)
        # SQLite has one writer: greenlets queue here instead of spinning in
        # SQLite's busy handler, which would block every greenlet of the process.
        self.writer = Semaphore(1) if is_sqlite(self.engine) else None
        if migrate_on_start():
            migrations.upgrade(self.engine, self.package)
        elif not migrations.is_current(self.engine, self.package):
            raise CannotStart(f"the {self.producer} database is not at this release's schema and "
                              "CEA_MIGRATE_ON_START is false: run its migration "
                              f"(python -m shared.ops migrate {self.producer}) first")

    def stop(self):
        self.engine.dispose()

    def on_commit_with_events(self, listener):
        self._commit_listeners.append(listener)

    def writer_lock(self):
        return self.writer if self.writer is not None else nullcontext()

    @contextmanager
    def transaction(self, cause=None):
        """One unit of work: the caller's changes, its outgoing events, its inbox rows."""
        with self.writer_lock():
            with Session(self.write_engine, expire_on_commit=False) as session:
                tx = Transaction(session, self.producer, cause=cause)
                yield tx
                self._refuse_if_broker_refuses(tx)
                tx.write_messaging_rows(self.outbox, self.inbox)
                session.commit()
        if tx.outgoing:
            self.notify_committed()

    def _refuse_if_broker_refuses(self, tx) -> None:
        """While the broker refuses publishes (a memory or disk alarm), a request that
        would cause events is refused (503) rather than growing the outbox without
        bound; events being handled still commit (their queue is bounded)."""
        if tx.outgoing and tx.cause is None and (reason := self.publishing_refused()):
            raise Unavailable(f"the message broker refuses new messages for now ({reason}); "
                              "nothing was recorded, retry shortly")

    def notify_committed(self):
        for listener in self._commit_listeners:
            listener()

    @contextmanager
    def read(self):
        with Session(self.engine) as session:
            yield session

    def ping(self, timeout: float = 3.0) -> bool:
        with eventlet.Timeout(timeout, TimeoutError(f"the database did not answer in {timeout} s")):
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        return True

    def migrated(self) -> bool:
        return migrations.is_current(self.engine, self.package)


class Store(DependencyProvider):
    """The service's handle on its database: `transaction()` to change, `read()` to look."""

    database = Database()

    def get_dependency(self, worker_ctx):
        return self.database
