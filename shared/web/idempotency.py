"""`Idempotency-Key` on the creating POSTs (docs/api-conventions.md, "Retries").

A client that may retry a POST (a frontend after a timeout) sends a key of its own
choosing. The first request with that key runs; its successful answer is kept in
the service's own database with the key, the caller and a fingerprint of the
request (method, path, query, body). The same key again from the same caller:

- the same request -> the kept answer, byte for byte, with `Idempotent-Replayed: true`;
- a different request -> 422 (`idempotency-key-reused`), nothing done;
- while the first is still running -> 409 (`idempotency-key-in-progress`), Retry-After.

Only a success is kept. A refusal changed nothing (no half-applied data), so the
same key runs again: a rule that refused may hold later. A claim left by a process
that died mid-request is taken over after IDEMPOTENCY_PENDING_SECONDS (default
300); then the creating POSTs' own rule applies — a repeat answers with what it
made. Kept answers are dropped after IDEMPOTENCY_KEEP_HOURS (default 24).
"""
from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass
from datetime import timedelta

from nameko.extensions import SharedExtension
from sqlalchemy import (Column, Index, Integer, LargeBinary, MetaData, String, Table, and_, delete, insert,
                        select, update)
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from shared.calendar import utcnow
from shared.persistence.database import Database
from shared.persistence.types import UtcDateTime

from . import problems

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY = 255
TABLE = "idempotency_keys"


def add_idempotency_table(metadata: MetaData) -> Table:
    """The kept answers, in each service's own database (a migration per service)."""
    table = Table(
        TABLE, metadata,
        Column("caller", String(200), primary_key=True),  # role and subject of the token
        Column("key", String(MAX_KEY), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("state", String(10), nullable=False),  # pending | done
        Column("status", Integer, nullable=True),
        Column("content_type", String(100), nullable=True),
        Column("body", LargeBinary, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
    )
    Index("ix_idempotency_keys_created_at", table.c.created_at)
    return table


class KeyInvalid(problems.HttpProblem):
    slug, title, status = "invalid-idempotency-key", "The Idempotency-Key header is not valid", 400


class KeyReused(problems.HttpProblem):
    slug, title, status = ("idempotency-key-reused",
                           "This Idempotency-Key was used for a different request", 422)


class KeyInProgress(problems.HttpProblem):
    slug, title, status = ("idempotency-key-in-progress",
                           "A request with this Idempotency-Key is still being answered", 409)


@dataclass(frozen=True)
class Kept:
    status: int
    content_type: str
    body: bytes


def check_key(raw: str) -> str:
    if not 1 <= len(raw) <= MAX_KEY or not all(" " <= c <= "~" for c in raw):
        raise KeyInvalid(f"send 1 to {MAX_KEY} printable ASCII characters as {HEADER}")
    return raw


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """The request a key stands for; a JSON body by its content, not its spacing or key order."""
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        pass  # not JSON (a CSV file): its bytes
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def keeps(status: int) -> bool:
    """Only a success is kept: a refusal changed nothing and may not hold later."""
    return 200 <= status < 300


class IdempotencyKeys(SharedExtension):
    """The kept answers of one service, in its database."""

    database = Database()

    def setup(self):
        config = self.container.config
        self.pending_for = timedelta(seconds=float(config.get("IDEMPOTENCY_PENDING_SECONDS", 300)))
        self.keep_for = timedelta(hours=float(config.get("IDEMPOTENCY_KEEP_HOURS", 24)))
        package = self.container.service_cls.__module__.rsplit(".", 1)[0]
        self.table = importlib.import_module(package + ".models").metadata.tables.get(TABLE)

    def around(self, entrypoint, request, answer) -> Response:
        """Answer `request` through `answer` once per key; see the module's rules."""
        try:
            key = check_key(request.headers[HEADER])
            if self.table is None:
                raise KeyInvalid(f"this service keeps no {HEADER}s")
            caller = entrypoint.caller_of(request)
        except problems.HttpProblem as exc:
            if isinstance(exc, KeyInvalid):
                return problems.from_exception(exc)
            return answer(request)  # no valid token: answered (401/403) without a key
        digest = fingerprint(request.method, request.path, request.query_string.decode("latin-1"),
                             request.get_data(cache=True))
        try:
            kept = self._claim(caller, key, digest)
        except problems.HttpProblem as exc:
            response = problems.from_exception(exc)
            if isinstance(exc, KeyInProgress):
                response.headers["Retry-After"] = str(problems.RETRY_AFTER_SECONDS)
            return response
        except Exception as exc:  # the database is away: 503, nothing done
            return problems.from_exception(exc)
        if kept is not None:
            response = Response(kept.body, status=kept.status, content_type=kept.content_type)
            response.headers[REPLAYED] = "true"
            return response
        response = None
        try:
            response = answer(request)
        finally:
            self._settle(caller, key, digest, response)
        return response

    def _claim(self, caller: str, key: str, digest: str) -> Kept | None:
        """None: this request holds the key and runs; a Kept answer: replay it."""
        table, now = self.table, utcnow()
        try:
            with self.database.transaction() as tx:
                tx.session.execute(insert(table).values(caller=caller, key=key, fingerprint=digest,
                                                        state="pending", created_at=now))
            return None
        except IntegrityError:
            pass  # the key is known
        with self.database.transaction() as tx:
            row = tx.session.execute(select(table).where(table.c.caller == caller, table.c.key == key)
                                     .with_for_update()).first()
            if row is None or row.created_at < now - self.keep_for:  # gone, or expired: claim afresh
                tx.session.execute(delete(table).where(table.c.caller == caller, table.c.key == key))
                tx.session.execute(insert(table).values(caller=caller, key=key, fingerprint=digest,
                                                        state="pending", created_at=now))
                return None
            if row.fingerprint != digest:
                raise KeyReused(f"{HEADER} {key!r} was sent with another request; use a new key for it")
            if row.state == "done":
                return Kept(row.status, row.content_type, row.body)
            if row.created_at > now - self.pending_for:
                raise KeyInProgress("the first request with this key has not been answered yet; "
                                    "retry shortly")
            # Its process died mid-request: this one takes the key over.
            tx.session.execute(update(table).where(table.c.caller == caller, table.c.key == key)
                               .values(created_at=now))
            return None

    def _settle(self, caller: str, key: str, digest: str, response: Response | None) -> None:
        """Keep a success with the key; let go of the key otherwise."""
        table, now = self.table, utcnow()
        mine = and_(table.c.caller == caller, table.c.key == key, table.c.fingerprint == digest,
                    table.c.state == "pending")
        try:
            with self.database.transaction() as tx:
                if response is not None and keeps(response.status_code):
                    tx.session.execute(update(table).where(mine).values(
                        state="done", status=response.status_code, content_type=response.content_type,
                        body=response.get_data()))
                else:
                    tx.session.execute(delete(table).where(mine))
                tx.session.execute(delete(table).where(table.c.created_at < now - self.keep_for))
        except Exception:  # the answer stands; the claim lapses after pending_for
            problems.log.warning("could not record the answer of %s %r", HEADER, key, exc_info=True)
