"""The audit trail of logins and rights: one row per thing that happened, written in
the transaction of the change it records. Never a password, hash or code."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from shared.web.pagination import fetch_page, page

from ..models import AuditEntry


def record(session, kind: str, now: datetime, *, account_id: uuid.UUID | None = None,
           login: str | None = None, client: str | None = None, actor: str | None = None,
           detail: str | None = None) -> None:
    session.add(AuditEntry(at=now, kind=kind, account_id=account_id, login=login and login[:40],
                           client=client and client[:64], actor=actor and actor[:64],
                           detail=detail and detail[:500]))


def listing(session, query: dict) -> dict:
    stmt = select(AuditEntry).order_by(AuditEntry.entry_id.desc())
    for name in ("account_id", "kind", "client"):
        if query.get(name) is not None:
            stmt = stmt.where(getattr(AuditEntry, name) == query[name])
    rows, total = fetch_page(session, stmt, query)
    return page(rows, total, query)
