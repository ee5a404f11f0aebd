"""Alembic, one history per service, applied when the service starts.

Each service keeps `migrations/` beside its `models.py`; its `env.py` is two
lines calling `run_env`. Developers add a revision with
`python -m shared.persistence.migrations revision <service> "<message>"`.
"""
from __future__ import annotations

import importlib
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

ROOT = Path(__file__).resolve().parents[2]
_PG_MIGRATION_LOCK = 0x0CEA0001  # advisory lock id: one migrator at a time per database


def package_dir(package: str) -> Path:
    return Path(importlib.import_module(package).__file__).parent


def alembic_config(package: str, connection: Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(package_dir(package) / "migrations"))
    cfg.attributes["package"] = package
    if connection is not None:
        cfg.attributes["connection"] = connection
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


@contextmanager
def _migration_lock(conn: Connection):
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    yield


def upgrade(engine: Engine, package: str) -> None:
    """Bring the database to head; safe when several replicas start at once.

    On SQLite a change to a table copies it into a new one and drops the old
    (Alembic's batch mode), which the foreign keys of the rows pointing at it
    would refuse: they are off while it migrates, and checked whole before the
    migration commits."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # a PRAGMA outside any transaction, as SQLite requires
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.execution_options(cea_write=True).begin():
                with _migration_lock(conn):
                    command.upgrade(alembic_config(package, conn), "head")
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"{package}: a migration left rows whose foreign keys "
                                           f"point nowhere: {broken[:5]}")
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def is_current(engine: Engine, package: str) -> bool:
    head = ScriptDirectory.from_config(alembic_config(package)).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head


def run_env(metadata) -> None:
    """The body of every service's migrations/env.py."""
    from alembic import context
    from sqlalchemy import create_engine

    cfg = context.config
    options = dict(target_metadata=metadata, render_as_batch=True, compare_type=True,
                   user_module_prefix="shared.persistence.types.")
    connection = cfg.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(cfg.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, **options)
        with context.begin_transaction():
            context.run_migrations()


def _revision(service: str, message: str) -> None:
    package = f"services.{service}"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/head.sqlite3"
        cfg = alembic_config(package, url=url)
        command.upgrade(cfg, "head")
        command.revision(cfg, message=message, autogenerate=True)


if __name__ == "__main__":  # python -m shared.persistence.migrations revision billing "add x"
    if len(sys.argv) != 4 or sys.argv[1] != "revision":
        sys.exit("usage: python -m shared.persistence.migrations revision <service> <message>")
    _revision(sys.argv[2], sys.argv[3])
