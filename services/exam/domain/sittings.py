"""When exams are sat (domain.md, "Exam"): the last weekend of every month whose
Saturday and Sunday both fall inside the month, two 90-minute slots a day,
09:00-10:30 and 14:00-15:30 Asia/Shanghai."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.calendar import PROGRAM_TZ, add_months

SLOTS = (time(9, 0), time(14, 0))
SLOT_LENGTH = timedelta(minutes=90)


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime


def last_full_weekend(year: int, month: int) -> tuple[date, date]:
    """The last Saturday whose Sunday is in the same month (a month ending on a
    Saturday uses the weekend before)."""
    last_day = calendar.monthrange(year, month)[1]
    day = date(year, month, last_day)
    while not (day.weekday() == calendar.SATURDAY and (day + timedelta(days=1)).month == month):
        day -= timedelta(days=1)
    return day, day + timedelta(days=1)


def slots_of_month(year: int, month: int) -> list[Slot]:
    slots = []
    for day in last_full_weekend(year, month):
        for start in SLOTS:
            begins = datetime.combine(day, start, tzinfo=PROGRAM_TZ)
            slots.append(Slot(begins, begins + SLOT_LENGTH))
    return slots


def slots_ahead(today: date, months: int) -> list[Slot]:
    """Every slot from this month through `months` months ahead that has not begun."""
    found = []
    for offset in range(months + 1):
        first = add_months(today.replace(day=1), offset)
        found += [s for s in slots_of_month(first.year, first.month) if s.starts_at.date() >= today]
    return found


def same_sitting(origin: str, capacity: int, closes_at: datetime, asked_capacity: int,
                 asked_closes_at: datetime) -> bool:
    """An administrator's request for an extra sitting where one already starts at
    that level is a repeat of the request that made it (answered with it) when it
    asks for the same; anything else clashes with it."""
    return origin == "extra" and capacity == asked_capacity and closes_at == asked_closes_at
