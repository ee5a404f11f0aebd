"""Engines for a service's own database: SQLite by default, PostgreSQL by URL.

SQLite is put in WAL mode with transactions begun by us (BEGIN IMMEDIATE for
writers) so that savepoints work and a writer takes the lock up front instead of
failing on upgrade. Another process holding the write lock is waited for in short
green sleeps, not in SQLite's busy handler, which would freeze every greenlet of
the process (probes and heartbeats included) for as long as the lock is held.
PostgreSQL goes through psycopg2 made cooperative under eventlet (psycogreen), so a
query waits without blocking the other greenlets; a lost server is noticed by the
connect timeout and TCP keepalives instead of hanging a loop.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import eventlet
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

SQLITE_BUSY_MS = 30_000     # how long a writer waits for another process's lock in all
SQLITE_SPIN_MS = 20         # ... of which at most this long inside SQLite at a time
POSTGRES_CONNECT = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10,
                    "keepalives_interval": 5, "keepalives_count": 3}


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
        return create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True,
                             pool_timeout=10, connect_args=POSTGRES_CONNECT)
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
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_SPIN_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        write = conn.get_execution_options().get("cea_write", False)
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"
        deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
        pause = 0.005
        while True:
            try:
                conn.exec_driver_sql(begin)
                return
            except Exception as exc:  # SQLAlchemy wraps it; look at what SQLite said
                locked = isinstance(getattr(exc, "orig", None), sqlite3.OperationalError) \
                    and "locked" in str(exc.orig)
                if not locked or time.monotonic() > deadline:
                    raise
            eventlet.sleep(pause)
            pause = min(pause * 2, 0.2)

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
