"""One service's schema, changed or awaited outside the service's own processes.

In Kubernetes a Job per service runs `migrate SERVICE` once per release, and every
replica's init container runs `migrate SERVICE --wait SECONDS`, which changes nothing:
it waits until the database is at the head this image knows, so that no replica of a
new release serves on the old schema. The database is `<SERVICE>_DATABASE_URL`.
"""
from __future__ import annotations

import sys
import time

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from shared.persistence import migrations
from shared.persistence.engine import make_engine

from .local import database_url

POLL_SECONDS = 2.0


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def migrate(service: str) -> int:
    engine = make_engine(database_url(service))
    try:
        migrations.upgrade(engine, f"services.{service}")
    finally:
        engine.dispose()
    print(f"{service}: migrated ({redacted(database_url(service))})")
    return 0


def wait_until_current(service: str, seconds: float) -> int:
    """0 once the schema is at head; 1 (said why) when `seconds` passed first."""
    engine = make_engine(database_url(service))
    deadline = time.monotonic() + seconds
    why = "not checked yet"
    try:
        while True:
            try:
                if migrations.is_current(engine, f"services.{service}"):
                    print(f"{service}: schema at head")
                    return 0
                why = "the schema is not at this release's head (has its migration Job run?)"
            except SQLAlchemyError as exc:
                why = f"the database does not answer: {type(exc).__name__}"
            if time.monotonic() >= deadline:
                print(f"{service}: gave up after {seconds:.0f} s: {why}", file=sys.stderr)
                return 1
            time.sleep(POLL_SECONDS)
    finally:
        engine.dispose()
