"""Monthly figures per training base, pure. A month is a calendar month of
Asia/Shanghai: 2026-10-31T16:00Z is already November."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from shared.calendar import PROGRAM_TZ, add_months, start_of_day
from shared.errors import InvalidInput

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_MONTHS = 36
FIELDS = ("base_code", "month", "enrollments", "due_fen", "received_fen", "refunded_fen", "outstanding_fen")


def parse_month(text: str) -> date:
    found = _MONTH.match(text or "")
    if not found:
        raise InvalidInput("months are written YYYY-MM", errors={"month": [f"{text!r} is not YYYY-MM"]})
    return date(int(found[1]), int(found[2]), 1)


def months(first: date, last: date) -> list[date]:
    if last < first:
        raise InvalidInput("the range ends before it starts", errors={"to": ["before from"]})
    out, m = [], first
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    if len(out) > MAX_MONTHS:
        raise InvalidInput(f"at most {MAX_MONTHS} months at a time", errors={"to": ["range too long"]})
    return out


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the months first..last, Asia/Shanghai."""
    return (start_of_day(first).astimezone(timezone.utc),
            start_of_day(add_months(last, 1)).astimezone(timezone.utc))


def month_of(instant: datetime) -> str:
    return instant.astimezone(PROGRAM_TZ).strftime("%Y-%m")


@dataclass
class Row:
    base_code: str
    month: str
    enrollments: int = 0
    due_fen: int = 0
    received_fen: int = 0
    refunded_fen: int = 0
    outstanding_fen: int = 0


@dataclass
class Report:
    """Fed with facts (each an instant and an amount), read as one row per base and month."""
    month_keys: list = field(default_factory=list)
    rows: dict = field(default_factory=dict)

    def _row(self, base: str, instant: datetime) -> Row | None:
        month = month_of(instant)
        if month not in self.month_keys:
            return None  # outside the asked months
        return self.rows.setdefault((base, month), Row(base, month))

    def order_opened(self, base, opened_at, amount_fen, enrollment: bool, status: str):
        """An order counts as due in the month it opened unless cancelled; it is
        outstanding while it is still open."""
        row = self._row(base, opened_at)
        if row is None or status == "cancelled":
            return
        row.enrollments += 1 if enrollment else 0
        row.due_fen += amount_fen
        row.outstanding_fen += amount_fen if status == "open" else 0

    def received(self, base, paid_at, amount_fen):
        if row := self._row(base, paid_at):
            row.received_fen += amount_fen

    def refunded(self, base, refunded_at, amount_fen):
        if row := self._row(base, refunded_at):
            row.refunded_fen += amount_fen

    def table(self) -> list[Row]:
        return sorted(self.rows.values(), key=lambda r: (r.month, r.base_code))


def report_for(first: date, last: date) -> Report:
    return Report([m.strftime("%Y-%m") for m in months(first, last)])
