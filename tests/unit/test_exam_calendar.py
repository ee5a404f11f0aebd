"""The exam calendar a year ahead (services/exam/domain/exam_calendar.py), with the
real holiday calendar (services/exam/holidays.py, the pinned chinesecalendar) for
2025 and 2026, and a year it does not cover."""
from datetime import date

import pytest

from services.exam.domain import exam_calendar as rules
from services.exam.domain.exam_calendar import Decision
from services.exam.holidays import LAST_YEAR, ChineseHolidays
from shared.errors import InvalidInput

HOLIDAYS = ChineseHolidays()


def _kinds(month):
    return {(f.day, f.kind) for f in month.flags}


def test_the_pinned_holiday_calendar_covers_2026():
    assert HOLIDAYS.covers(2026) and LAST_YEAR >= 2026


def test_the_2026_spring_festival_weekend_is_flagged():
    february = rules.generated_month(date(2026, 2, 1), HOLIDAYS)
    assert (february.saturday, february.sunday) == (date(2026, 2, 21), date(2026, 2, 22))
    assert _kinds(february) == {(date(2026, 2, 21), rules.HOLIDAY), (date(2026, 2, 22), rules.HOLIDAY)}
    assert "春节" in february.flags[0].detail


def test_the_2026_mid_autumn_weekend_is_flagged_and_ordinary_months_are_not():
    september = rules.generated_month(date(2026, 9, 1), HOLIDAYS)
    assert september.saturday == date(2026, 9, 26) and {f.kind for f in september.flags} == {rules.HOLIDAY}
    assert "中秋" in september.flags[0].detail
    for month in (1, 3, 4, 5, 6, 7, 8, 10, 11, 12):  # National Day is Oct 1-7: the rule's weekend is the 24th
        assert not rules.generated_month(date(2026, month, 1), HOLIDAYS).flagged, month


def test_a_working_weekend_tiaoxiu_is_flagged():
    # 2026-09-20 (Sunday) is worked for National Day; 2025's rule weekends of January,
    # April and September each hold a worked Sunday.
    assert rules.flags_of([date(2026, 9, 19), date(2026, 9, 20)], HOLIDAYS) == (
        rules.Flag(date(2026, 9, 20), rules.WORKING_WEEKEND, "working day (调休) for 国庆节 National Day"),)
    for month, sunday in ((1, 26), (4, 27), (9, 28)):
        flagged = rules.generated_month(date(2025, month, 1), HOLIDAYS)
        assert _kinds(flagged) == {(date(2025, month, sunday), rules.WORKING_WEEKEND)}


def test_a_year_the_holiday_calendar_does_not_cover_is_flagged_unknown_not_passed():
    year = LAST_YEAR + 1
    month = rules.generated_month(date(year, 3, 1), HOLIDAYS)
    assert {f.kind for f in month.flags} == {rules.HOLIDAYS_UNKNOWN}
    assert month.flags[0].detail == f"holidays unknown for {year}"


def test_the_year_ahead_is_the_twelve_months_after_this_one():
    months = rules.proposal(date(2025, 11, 29), HOLIDAYS)
    assert [m.month for m in months] == [date(2025, 12, 1)] + [date(2026, n, 1) for n in range(1, 12)]
    assert [m.month.month for m in months if m.flagged] == [2, 9]


def test_publishing_needs_a_decision_for_every_flagged_month():
    proposed = rules.proposal(date(2025, 11, 29), HOLIDAYS)
    with pytest.raises(rules.FlaggedMonthsUndecided) as refused:
        rules.decide(proposed, [Decision(date(2026, 2, 1), rules.CONFIRM)], HOLIDAYS, date(2025, 11, 29))
    assert [r["month"] for r in refused.value.extra["rules"]] == ["2026-09"]

    decided = rules.decide(proposed, [Decision(date(2026, 2, 1), rules.MOVE, date(2026, 2, 7), "春节"),
                                      Decision(date(2026, 9, 1), rules.CONFIRM, reason="考点已确认")],
                           HOLIDAYS, date(2025, 11, 29))
    february = next(m for m in decided if m.month == date(2026, 2, 1))
    assert (february.saturday, february.sunday, february.decision, february.rule_saturday) == \
        (date(2026, 2, 7), date(2026, 2, 8), rules.MOVED, date(2026, 2, 21))
    assert not february.flags
    assert next(m for m in decided if m.month == date(2026, 9, 1)).decision == rules.CONFIRMED
    assert {m.decision for m in decided if m.month.month not in (2, 9)} == {rules.BY_RULE}


def test_a_move_onto_a_flagged_weekend_is_refused():
    proposed = rules.proposal(date(2025, 11, 29), HOLIDAYS)
    with pytest.raises(rules.MovedOntoFlaggedWeekend) as refused:
        rules.decide(proposed, [Decision(date(2026, 2, 1), rules.CONFIRM),
                                Decision(date(2026, 9, 1), rules.MOVE, date(2026, 9, 19))],
                     HOLIDAYS, date(2025, 11, 29))
    assert refused.value.extra["rules"][0]["month"] == "2026-09"
    assert "调休" in refused.value.extra["rules"][0]["message"]


@pytest.mark.parametrize("decision", [
    Decision(date(2027, 2, 1), rules.CONFIRM),                    # not in the year being published
    Decision(date(2026, 2, 1), rules.MOVE),                       # a move without its Saturday
    Decision(date(2026, 2, 1), rules.MOVE, date(2026, 2, 8)),     # a Sunday
    Decision(date(2026, 2, 1), rules.MOVE, date(2026, 2, 28)),    # its Sunday is in March
    Decision(date(2026, 2, 1), rules.MOVE, date(2026, 3, 7)),     # another month
])
def test_a_decision_that_does_not_fit_the_calendar_is_invalid(decision):
    proposed = rules.proposal(date(2025, 11, 29), HOLIDAYS)
    with pytest.raises(InvalidInput):
        rules.decide(proposed, [decision], HOLIDAYS, date(2025, 11, 29))


def test_a_month_decided_twice_is_invalid():
    proposed = rules.proposal(date(2025, 11, 29), HOLIDAYS)
    twice = [Decision(date(2026, 2, 1), rules.CONFIRM), Decision(date(2026, 2, 1), rules.CONFIRM)]
    with pytest.raises(InvalidInput):
        rules.decide(proposed, twice, HOLIDAYS, date(2025, 11, 29))
