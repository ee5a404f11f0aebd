"""Engines for a service's own database: SQLite by default, PostgreSQL by URL.

SQLite is put in WAL mode with transactions begun by us (BEGIN IMMEDIATE for
writers) so that savepoints work and a writer takes the lock up front instead of
failing on upgrade. PostgreSQL goes through psycopg2 made cooperative under
eventlet (psycogreen), so a query waits without blocking the other greenlets.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

SQLITE_BUSY_MS = 30_000


def _green_psycopg2() -> None:
    from eventlet import patcher
    if patcher.is_monkey_patched("socket"):
        from psycogreen.eventlet import patch_psycopg
        patch_psycopg()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed)
    if parsed.get_backend_name() == "postgresql":
        _green_psycopg2()
        # SQLAlchemy 2.1 defaults to psycopg 3; psycopg2 is the one made green here.
        parsed = parsed.set(drivername="postgresql+psycopg2")
        return create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")


def _sqlite_engine(url, parsed) -> Engine:
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False,
                                              "timeout": SQLITE_BUSY_MS / 1000})

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss too, not only a killed process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        write = conn.get_execution_options().get("cea_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
