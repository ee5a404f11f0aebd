"""Program time. Instants are timezone-aware UTC; program rules run on the
calendar of Asia/Shanghai (a validity ends at 23:59:59.999999 there)."""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

PROGRAM_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def program_date(instant: datetime) -> date:
    """The program's calendar day of an instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: time must be timezone-aware")
    return instant.astimezone(PROGRAM_TZ).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=PROGRAM_TZ)


def end_of_day(day: date) -> datetime:
    """The last instant of `day` in Asia/Shanghai."""
    return start_of_day(day + timedelta(days=1)) - timedelta(microseconds=1)


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end: Aug 31 + 6 -> Feb 28/29."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def whole_months_between(start: date, end: date) -> int:
    """Completed calendar months from start to end (0 if end < start)."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months
