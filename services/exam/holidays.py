"""China's statutory holidays and working weekends (调休), from the maintained
`chinesecalendar` package (pinned in requirements.lock): the State Council publishes
each year's schedule late in the year before, and a new release of the package
carries it. Years outside the package's data are not covered: the calendar's rule
flags them "holidays unknown" (domain/exam_calendar.py) instead of guessing."""
from __future__ import annotations

from datetime import date

import chinese_calendar

VERSION = chinese_calendar.__version__
FIRST_YEAR = min(chinese_calendar.holidays).year
LAST_YEAR = max(chinese_calendar.holidays).year


class ChineseHolidays:
    """domain.exam_calendar.HolidayCalendar over the package's tables."""

    def covers(self, year: int) -> bool:
        return FIRST_YEAR <= year <= LAST_YEAR

    def holiday(self, day: date) -> str | None:
        name = chinese_calendar.holidays.get(day)
        return _chinese(name) if name else None

    def working_weekend(self, day: date) -> str | None:
        name = chinese_calendar.workdays.get(day)
        return _chinese(name) if name and day.weekday() >= 5 else None


def _chinese(english: str) -> str:
    for holiday in chinese_calendar.Holiday:
        if holiday.value == english:
            return f"{holiday.chinese} {english}"
    return english
