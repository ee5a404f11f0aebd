"""Exam's pure rules: the sitting calendar, blueprints, drawing, scoring, retakes."""
import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from services.exam.domain import attempts, paper, scoring, sittings
from shared.calendar import PROGRAM_TZ


def months(start_year, start_month, count):
    for i in range(count):
        y, m = divmod(start_month - 1 + i, 12)
        yield start_year + y, m + 1


@pytest.mark.parametrize("year, month", list(months(2026, 1, 24)))
def test_the_sitting_weekend_is_the_last_whose_saturday_and_sunday_are_in_the_month(year, month):
    saturday, sunday = sittings.last_full_weekend(year, month)
    assert saturday.weekday() == calendar.SATURDAY and sunday == saturday + timedelta(days=1)
    assert saturday.month == sunday.month == month
    later = saturday + timedelta(days=7)
    assert later.month != month or (later + timedelta(days=1)).month != month


def test_a_month_ending_on_saturday_or_sunday():
    # October 2026 ends on a Saturday: its Sunday is in November, so the weekend before.
    assert date(2026, 10, 31).weekday() == calendar.SATURDAY
    assert sittings.last_full_weekend(2026, 10) == (date(2026, 10, 24), date(2026, 10, 25))
    # May 2026 ends on a Sunday: that weekend counts.
    assert date(2026, 5, 31).weekday() == calendar.SUNDAY
    assert sittings.last_full_weekend(2026, 5) == (date(2026, 5, 30), date(2026, 5, 31))


def test_four_ninety_minute_slots_a_month_in_shanghai_time():
    slots = sittings.slots_of_month(2026, 11)
    assert [s.starts_at for s in slots] == [
        datetime(2026, 11, 28, 9, 0, tzinfo=PROGRAM_TZ), datetime(2026, 11, 28, 14, 0, tzinfo=PROGRAM_TZ),
        datetime(2026, 11, 29, 9, 0, tzinfo=PROGRAM_TZ), datetime(2026, 11, 29, 14, 0, tzinfo=PROGRAM_TZ)]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=90) for s in slots)
    assert len(sittings.slots_ahead(date(2026, 11, 29), 2)) == 2 + 4 + 4


def test_the_blueprint_must_make_100_questions_and_100_points():
    assert paper.BLUEPRINT_V1.total_questions == 100 and paper.BLUEPRINT_V1.total_points == 100
    with pytest.raises(paper.BlueprintError, match="99 questions"):
        paper.validate_blueprint(paper.Blueprint("x", (paper.Section("single_choice", 99, Decimal(1)),)))
    with pytest.raises(paper.BlueprintError, match="points"):
        paper.validate_blueprint(paper.Blueprint("x", (paper.Section("single_choice", 50, Decimal(1)),
                                                       paper.Section("true_false", 50, Decimal("0.5")))))


def _bank():
    bank = []
    for type_, n in (("single_choice", 60), ("multiple_choice", 25), ("true_false", 30), ("short_answer", 8)):
        keys = ("A", "B", "C", "D") if type_ in ("single_choice", "multiple_choice") else ()
        bank += [paper.BankQuestion(f"{type_}-{i}", 1, type_, keys) for i in range(n)]
    return bank


def test_drawing_is_reproducible_from_its_seed_and_follows_the_blueprint():
    one = paper.draw(_bank(), paper.BLUEPRINT_V1, seed=42)
    assert one == paper.draw(_bank(), paper.BLUEPRINT_V1, seed=42)
    assert one != paper.draw(_bank(), paper.BLUEPRINT_V1, seed=43)
    assert [q.number for q in one] == list(range(1, 101))
    assert sum(q.points for q in one) == 100
    assert sum(q.type == "short_answer" for q in one) == 5
    assert len({q.question_id for q in one}) == 100


def test_a_bank_too_small_for_the_blueprint_is_refused():
    with pytest.raises(paper.BankTooSmall, match="short_answer"):
        paper.draw([q for q in _bank() if q.type != "short_answer"], paper.BLUEPRINT_V1, seed=1)


def test_multiple_choice_scores_only_the_exact_set():
    order = ["C", "A", "D", "B"]  # shown A..D; the bank's right answer is {A, C}
    assert scoring.objective_correct("multiple_choice", ["A", "C"], ["A", "B"], order)
    assert not scoring.objective_correct("multiple_choice", ["A", "C"], ["A"], order)
    assert not scoring.objective_correct("multiple_choice", ["A", "C"], ["A", "B", "C"], order)
    assert scoring.objective_correct("single_choice", "D", "C", order)
    assert scoring.objective_correct("true_false", False, False, [])
    assert not scoring.objective_correct("true_false", False, None, [])


def test_answer_shapes_and_marks_are_checked():
    with pytest.raises(scoring.InvalidAnswer):
        scoring.check_answer_shape("single_choice", 4, "E")
    with pytest.raises(scoring.InvalidAnswer):
        scoring.check_answer_shape("multiple_choice", 4, ["A", "A"])
    with pytest.raises(scoring.InvalidAnswer):
        scoring.check_answer_shape("true_false", 0, "yes")
    scoring.check_answer_shape("short_answer", 0, "温室效应……")
    scoring.check_mark(Decimal("3.5"), Decimal(4))
    with pytest.raises(scoring.InvalidInput):
        scoring.check_mark(Decimal("4.1"), Decimal(4))
    assert scoring.passed(Decimal("60.0")) and not scoring.passed(Decimal("59.9"))


def test_the_free_retake_lasts_exactly_six_months_from_the_first_attempt():
    failed = [attempts.PastAttempt(1, date(2026, 8, 29), final=True, passed=False)]
    assert attempts.next_attempt([], date(2026, 8, 29)) == 1
    assert attempts.next_attempt(failed, date(2027, 2, 28)) == 2  # Aug 29 + 6 months = Feb 28
    with pytest.raises(attempts.PaidRetakeRequired, match="2027-02-28"):
        attempts.next_attempt(failed, date(2027, 3, 1))
    used = failed + [attempts.PastAttempt(2, date(2026, 9, 26), final=True, passed=False)]
    with pytest.raises(attempts.PaidRetakeRequired, match="used"):
        attempts.next_attempt(used, date(2026, 10, 31))
    with pytest.raises(attempts.ResultPending):
        attempts.next_attempt([attempts.PastAttempt(1, date(2026, 8, 29), False, False)], date(2026, 9, 1))
    with pytest.raises(attempts.AlreadyPassed):
        attempts.next_attempt([attempts.PastAttempt(1, date(2026, 8, 29), True, True)], date(2026, 9, 1))
