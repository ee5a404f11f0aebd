"""Bank statement import: every line ends in one state, in bulk.

Built for 100,000 lines in one upload: the file is read once, then handled in
chunks, each in its own short transaction with a handful of statements whatever
its size — one query for the references already imported, one for the candidate
orders of the chunk's names (locked on PostgreSQL), bulk inserts for payments,
review items and line results. Between chunks the other greenlets (events,
probes) get their turn and no write lock is held.
"""
from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict

from sqlalchemy import func, insert, select

from shared.errors import NotFound

from .. import domain
from ..domain import OrderKind, OrderStatus, remarks
from ..domain.remarks import REVIEW_REASON, Candidate, LineState
from ..domain.statement import InvalidLine, Line
from ..models import Order, Payment, ReviewItem, Statement, StatementLine
from .payments import pay

CHANNEL = "bank_transfer"
CHUNK = 2000


def import_statement(db, raw: bytes, *, charset, filename, principal, now, pause=lambda: None) -> dict:
    encoding, lines = domain.statement.read(raw, charset)
    statement_id = uuid.uuid4()
    with db.transaction() as tx:
        tx.session.add(Statement(statement_id=statement_id, filename=filename or "statement.csv",
                                 encoding=encoding, uploaded_by=principal.subject or principal.role,
                                 uploaded_at=now, line_count=len(lines), counts="{}"))
    counts = Counter()
    for start in range(0, len(lines), CHUNK):
        pause()
        with db.transaction() as tx:
            counts.update(_import_chunk(tx, statement_id, lines[start:start + CHUNK], now))
    with db.transaction() as tx:
        tx.session.get(Statement, statement_id).counts = json.dumps(counts)
    return {"statement_id": statement_id, "filename": filename, "encoding": encoding,
            "lines": len(lines), "counts": dict(counts), "uploaded_at": now}


def _import_chunk(tx, statement_id, chunk: list, now) -> Counter:
    session = tx.session
    valid = [line for line in chunk if isinstance(line, Line)]
    seen = set(session.scalars(select(Payment.reference).where(
        Payment.channel == CHANNEL, Payment.reference.in_({line.reference for line in valid}))))
    parsed = {line.number: remarks.parse_remark(line.remark) for line in valid}
    names = {r.name for r in parsed.values() if r.name}
    orders = {o.order_id: o for o in session.scalars(
        select(Order).where(Order.name_key.in_(names)).with_for_update())} if names else {}
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
        ids = session.scalars(insert(Payment).returning(Payment.payment_id, sort_by_parameter_order=True), [{
            "channel": CHANNEL, "reference": line.reference, "order_id": found.order_id,
            "amount_fen": line.amount_fen, "paid_at": line.paid_at, "received_at": now,
            "settlement": "applied" if found.state == LineState.MATCHED else REVIEW_REASON[found.state],
            "payer": line.payer_name or None, "remark": line.remark} for line, found in payments]).all()
        by_line = {line.number: pid for (line, _), pid in zip(payments, ids)}
        reviews = []
        for (line, found), payment_id in zip(payments, ids):
            if found.state == LineState.MATCHED:
                pay(tx, orders[found.order_id], payment_id, CHANNEL, line.reference, line.amount_fen,
                    line.paid_at)
            else:
                reviews.append({"payment_id": payment_id, "reason": REVIEW_REASON[found.state],
                                "state": "open", "detail": _detail(line, found), "created_at": now})
        if reviews:
            session.execute(insert(ReviewItem), reviews)
        for r in results:
            r["payment_id"] = by_line.get(r["line_number"]) if r["state"] not in ("duplicate", "invalid") else None
    session.execute(insert(StatementLine), results)
    return Counter(r["state"] for r in results)


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
    return {"statement_id": s.statement_id, "filename": s.filename, "encoding": s.encoding,
            "lines": s.line_count, "counts": json.loads(s.counts), "uploaded_at": s.uploaded_at,
            "uploaded_by": s.uploaded_by}


def statement_lines(session, statement_id, state=None, offset=0, limit=100) -> dict:
    statement_view(session, statement_id)
    query = select(StatementLine).where(StatementLine.statement_id == statement_id)
    if state:
        query = query.where(StatementLine.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(StatementLine.line_number).offset(offset).limit(limit))
    return {"total": total, "offset": offset, "lines": [
        {c.key: getattr(r, c.key) for c in StatementLine.__table__.columns if c.key not in ("id", "statement_id")}
        for r in rows]}
