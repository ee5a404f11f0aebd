"""The price schedule: read it (the configuration's starting entries and every
administrator's entry), record a new entry."""
from __future__ import annotations

from sqlalchemy import select

from shared.calendar import program_date

from ..domain import format_yuan
from ..domain import prices as rules
from ..models import PriceEntry


def schedule(session, starting: list[rules.PriceEntry]) -> list[rules.PriceEntry]:
    """The whole schedule: the starting entries, then the recorded ones in order."""
    recorded = session.scalars(select(PriceEntry).order_by(PriceEntry.sequence))
    return starting + [entry(row) for row in recorded]


def entry(row: PriceEntry) -> rules.PriceEntry:
    return rules.PriceEntry(kind=row.kind, amount_fen=row.amount_fen, effective_from=row.effective_from,
                            sequence=row.sequence, recorded_by=row.recorded_by,
                            recorded_at=row.recorded_at, reason=row.reason)


def record(tx, body: dict, principal, now) -> PriceEntry:
    """An administrator's new entry, checked by the rule, appended."""
    rules.check_new_price(body["kind"], body["amount_fen"], body["effective_from"], program_date(now))
    row = PriceEntry(kind=body["kind"], amount_fen=body["amount_fen"], effective_from=body["effective_from"],
                     recorded_by=principal.subject, recorded_role=principal.role, recorded_at=now,
                     reason=body.get("reason"))
    tx.session.add(row)
    tx.session.flush()
    return row


def view(e: rules.PriceEntry) -> dict:
    return {"kind": e.kind, "amount_fen": e.amount_fen, "amount_display": format_yuan(e.amount_fen),
            "effective_from": e.effective_from, "takes_effect_at": e.takes_effect_at,
            "sequence": e.sequence or None, "recorded_by": e.recorded_by,
            "recorded_at": e.recorded_at, "reason": e.reason}



def current(schedule: list[rules.PriceEntry], now) -> dict:
    """The price of each kind in effect now, and every entry: in effect, then to come."""
    entries = rules.current_schedule(schedule, now)
    return {"at": now, "entries": [view(e) for e in entries],
            "in_effect": {e.kind: e.amount_fen for e in entries
                          if e.takes_effect_at is None or e.takes_effect_at <= now}}
