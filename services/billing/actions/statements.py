"""Bank statement import: every line ends in one state, in bulk.

Built for 100,000 lines in one upload: the body is spooled to a temporary file
and read from there (never held whole), checked whole first, then handled in
chunks, each in its own short transaction with a handful of statements whatever
its size — one query for the references already imported, one for the candidate
orders of the chunk's names (locked on PostgreSQL), bulk inserts for payments,
review items and line results. Between chunks the other greenlets (events,
probes) get their turn and no write lock is held.
"""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from shared.errors import NotFound
from shared.web.pagination import fetch_page, page

from .. import domain
from ..domain import OrderKind, OrderStatus, remarks
from ..domain.remarks import REVIEW_REASON, Candidate, LineState
from ..domain.statement import InvalidLine, Line
from ..models import Order, Payment, ReviewItem, Statement, StatementLine
from .payments import pay

CHANNEL = "bank_transfer"
CHUNK = 2000
# 100,000 lines of about 150 bytes (Chinese names and remarks), with room to spare.
MAX_BYTES = 32 * 1024 * 1024
CLAIM = timedelta(minutes=5)  # an import that has not written for this long has stopped


def import_statement(db, upload, *, charset, filename, principal, now,
                     pause=lambda: None) -> tuple[dict, bool]:
    """(the import, whether it is new). Read the whole file first (unreadable: 4xx,
    nothing recorded), then record it chunk by chunk. An import that stops half-way
    stays `importing` with the lines recorded so far, and the same file uploaded
    again resumes it; once complete, the same file again answers that import (a
    repeat, or a lost response, records nothing)."""
    with db.read() as session:
        earlier = session.scalars(select(Statement.statement_id).where(
            Statement.content_sha256 == upload.sha256, Statement.state == "complete")
            .order_by(Statement.uploaded_at)).first()
        if earlier is not None:
            return statement_view(session, earlier), False
    statement_file = domain.statement.read(upload, charset)
    with db.transaction() as tx:
        statement_id, done = _claim(tx, upload.sha256, statement_file, filename, principal, now)
    for chunk in statement_file.chunks(CHUNK):
        chunk = [line for line in chunk if line.number > done]
        if not chunk:
            continue
        pause()
        for attempt in (1, 2):
            try:
                with db.transaction() as tx:
                    _import_chunk(tx, statement_id, chunk, now)
                    tx.session.get(Statement, statement_id).claimed_until = now + CLAIM
                break
            except IntegrityError:
                # The same lines committed meanwhile by a concurrent import of the
                # same file: once more, they are duplicates now.
                if attempt == 2:
                    raise
    with db.transaction() as tx:
        statement = tx.session.get(Statement, statement_id)
        statement.counts = json.dumps(_counts(tx.session, statement_id))
        statement.state, statement.claimed_until = "complete", None
    with db.read() as session:
        return statement_view(session, statement_id), True


def _claim(tx, digest, statement_file, filename, principal, now) -> tuple:
    """(statement id, last line already recorded): a new statement, or the stopped
    import of this same file, resumed."""
    # One still being imported (its claim is live) is left alone: this upload is
    # a statement of its own, whose lines come out as duplicates of that one's.
    stopped = tx.session.scalars(select(Statement).where(
        Statement.content_sha256 == digest, Statement.state == "importing",
        Statement.claimed_until <= now)
        .order_by(Statement.uploaded_at).with_for_update()).first()
    if stopped is not None:
        stopped.claimed_until = now + CLAIM
        done = tx.session.scalar(select(func.max(StatementLine.line_number))
                                 .where(StatementLine.statement_id == stopped.statement_id)) or 0
        return stopped.statement_id, done
    statement_id = uuid.uuid4()
    tx.session.add(Statement(statement_id=statement_id, filename=filename or "statement.csv",
                             encoding=statement_file.encoding, uploaded_by=principal.subject or principal.role,
                             uploaded_at=now, line_count=statement_file.lines, counts="{}",
                             state="importing", content_sha256=digest, claimed_until=now + CLAIM))
    return statement_id, 0


def _counts(session, statement_id) -> dict:
    return dict(session.execute(select(StatementLine.state, func.count())
                                .where(StatementLine.statement_id == statement_id)
                                .group_by(StatementLine.state)).all())


def _import_chunk(tx, statement_id, chunk: list, now) -> None:
    session = tx.session
    valid = [line for line in chunk if isinstance(line, Line)]
    seen = set(session.scalars(select(Payment.reference).where(
        Payment.channel == CHANNEL, Payment.reference.in_({line.reference for line in valid}))))
    parsed = {line.number: remarks.parse_remark(line.remark) for line in valid if line.reference not in seen}
    orders = _candidate_orders(session, {r.name for r in parsed.values() if r.name})
    by_name = defaultdict(list)
    for o in orders.values():
        by_name[o.name_key].append(Candidate(o.order_id, o.name_key, OrderKind(o.kind),
                                             OrderStatus(o.status), o.amount_fen))

    results, payments = [], []
    for line in chunk:
        if isinstance(line, InvalidLine):
            results.append(_result(statement_id, line.number, LineState.INVALID, line.reason,
                                   reference=line.reference))
            continue
        if line.reference in seen:
            results.append(_result(statement_id, line.number, LineState.DUPLICATE,
                                   "this bank line was imported before", line))
            continue
        seen.add(line.reference)
        remark = parsed[line.number]
        found = remarks.match(remark, line.amount_fen, by_name.get(remark.name, []))
        if found.state == LineState.MATCHED:
            next(c for c in by_name[remark.name] if c.order_id == found.order_id).status = OrderStatus.PAID
        results.append(_result(statement_id, line.number, found.state, found.reason, line, found.order_id))
        payments.append((line, found))

    if payments:
        ids = _insert_payments(session, payments, now)
        paid, reviews = [], []
        for line, found in payments:
            payment_id = ids[line.reference]
            if found.state == LineState.MATCHED:
                order = orders[found.order_id]
                pay(tx, order, payment_id, CHANNEL, line.reference, line.amount_fen, line.paid_at)
                paid.append({"oid": order.order_id, "status": order.status, "paid_at": order.paid_at,
                             "pid": payment_id})
            else:
                reviews.append({"payment_id": payment_id, "reason": REVIEW_REASON[found.state],
                                "state": "open", "detail": _detail(line, found), "created_at": now})
        if paid:
            _mark_paid(session, [p["pid"] for p in paid])
        if reviews:
            session.execute(insert(ReviewItem.__table__), reviews)
        for r in results:
            if r["state"] not in ("duplicate", "invalid"):
                r["payment_id"] = ids[r["reference"]]
    session.execute(insert(StatementLine.__table__), results)


@dataclass
class _OrderRow:
    """The columns matching and paying need, without the ORM's cost per object."""
    order_id: object
    enrollment_id: object
    learner_id: object
    kind: str
    retake_attempt: int
    name_key: str
    status: str
    amount_fen: int
    paid_at: object = None
    paying_payment_id: object = None


def _candidate_orders(session, names: set) -> dict:
    """Every order of the chunk's names, in one query (locked on PostgreSQL, so a
    QR notification cannot pay one of them meanwhile)."""
    if not names:
        return {}
    t = Order.__table__
    rows = session.execute(select(t.c.order_id, t.c.enrollment_id, t.c.learner_id, t.c.kind,
                                  t.c.retake_attempt, t.c.name_key, t.c.status, t.c.amount_fen)
                           .where(t.c.name_key.in_(names)).order_by(t.c.order_id)  # one lock order: no deadlock
                           .with_for_update())
    return {r.order_id: _OrderRow(*r) for r in rows}


def _mark_paid(session, payment_ids: list) -> None:
    """Every order these payments paid, in one UPDATE … FROM (an executemany would
    be a round trip per order on PostgreSQL)."""
    orders, payments = Order.__table__, Payment.__table__
    session.execute(update(orders).where(orders.c.order_id == payments.c.order_id,
                                         payments.c.payment_id.in_(payment_ids))
                    .values(status=OrderStatus.PAID.value, paid_at=payments.c.paid_at,
                            paying_payment_id=payments.c.payment_id))


def _insert_payments(session, payments, now) -> dict:
    """One executemany, then one query for the ids: faster than RETURNING row by row."""
    session.execute(insert(Payment.__table__), [{
        "channel": CHANNEL, "reference": line.reference, "order_id": found.order_id,
        "amount_fen": line.amount_fen, "paid_at": line.paid_at, "received_at": now,
        "settlement": "applied" if found.state == LineState.MATCHED else REVIEW_REASON[found.state],
        "payer": line.payer_name or None, "remark": line.remark} for line, found in payments])
    return dict(session.execute(select(Payment.reference, Payment.payment_id).where(
        Payment.channel == CHANNEL, Payment.reference.in_([line.reference for line, _ in payments]))).all())


def _result(statement_id, number, state: LineState, reason, line: Line | None = None, order_id=None,
            reference=None) -> dict:
    return {"statement_id": statement_id, "line_number": number, "state": state.value,
            "reason": (reason or None) and reason[:300], "reference": line.reference if line else reference,
            "amount_fen": line.amount_fen if line else None, "remark": line.remark if line else None,
            "order_id": order_id, "payment_id": None}


def _detail(line: Line, found) -> str:
    who = f" from {line.payer_name}" if line.payer_name else ""
    text = f"bank transfer of {domain.format_yuan(line.amount_fen)} CNY{who}, remark {line.remark!r}: {found.reason}"
    if found.candidates:
        text += "; candidate orders " + ", ".join(str(c) for c in found.candidates[:10])
    return text[:500]


# -- reading back -----------------------------------------------------------------

def statement_view(session, statement_id) -> dict:
    s = session.get(Statement, statement_id)
    if s is None:
        raise NotFound(f"no statement {statement_id}")
    counts = json.loads(s.counts) if s.state == "complete" else _counts(session, statement_id)
    return {"statement_id": s.statement_id, "filename": s.filename, "encoding": s.encoding,
            "lines": s.line_count, "counts": counts, "uploaded_at": s.uploaded_at,
            "uploaded_by": s.uploaded_by, "state": s.state}


def statement_lines(session, statement_id, query: dict) -> dict:
    """A page of the statement's lines in file order, filtered by state."""
    statement_view(session, statement_id)
    stmt = select(StatementLine).where(StatementLine.statement_id == statement_id)
    if query.get("state"):
        stmt = stmt.where(StatementLine.state == query["state"])
    rows, total = fetch_page(session, stmt.order_by(StatementLine.line_number), query)
    return page([{c.key: getattr(r, c.key) for c in StatementLine.__table__.columns
                  if c.key not in ("id", "statement_id")} for r in rows], total, query)
