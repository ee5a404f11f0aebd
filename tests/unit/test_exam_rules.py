"""Exam's pure rules: the sitting calendar, blueprints, drawing, scoring, retakes."""
import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from services.exam.domain import attempts, bank, paper, scoring, sittings
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


# The last full weekend's Saturday of 24 real months, read off GNU `date` (not this
# code), with the weekday each month ends on.
REAL_CALENDAR = {
    (2026, 1): (24, "Sat"), (2026, 2): (21, "Sat"), (2026, 3): (28, "Tue"), (2026, 4): (25, "Thu"),
    (2026, 5): (30, "Sun"), (2026, 6): (27, "Tue"), (2026, 7): (25, "Fri"), (2026, 8): (29, "Mon"),
    (2026, 9): (26, "Wed"), (2026, 10): (24, "Sat"), (2026, 11): (28, "Mon"), (2026, 12): (26, "Thu"),
    (2027, 1): (30, "Sun"), (2027, 2): (27, "Sun"), (2027, 3): (27, "Wed"), (2027, 4): (24, "Fri"),
    (2027, 5): (29, "Mon"), (2027, 6): (26, "Wed"), (2027, 7): (24, "Sat"), (2027, 8): (28, "Tue"),
    (2027, 9): (25, "Thu"), (2027, 10): (30, "Sun"), (2027, 11): (27, "Tue"), (2027, 12): (25, "Fri"),
}


@pytest.mark.parametrize("year, month", sorted(REAL_CALENDAR))
def test_the_sitting_weekend_of_24_real_months(year, month):
    saturday_day, ends_on = REAL_CALENDAR[(year, month)]
    last = date(year, month, calendar.monthrange(year, month)[1])
    assert last.strftime("%a") == ends_on
    assert sittings.last_full_weekend(year, month) == (date(year, month, saturday_day),
                                                       date(year, month, saturday_day + 1))


def test_the_real_calendar_covers_months_ending_on_saturday_and_on_sunday():
    ends = [e for _, e in REAL_CALENDAR.values()]
    assert ends.count("Sat") >= 3 and ends.count("Sun") >= 3


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


def _blueprint(sections, level="L4"):
    return paper.Blueprint(level, "t", tuple(paper.Section(t, a, n, Decimal(p)) for t, a, n, p in sections))


def test_the_shipped_blueprints_make_100_questions_and_100_points_for_each_level():
    from services.exam.actions import blueprints, current_blueprint
    assert {b.level for b in blueprints().values()} == {"L4", "L3"}
    for level in ("L4", "L3"):
        b = current_blueprint(level)
        assert b.total_questions == 100 and b.total_points == 100
        assert {s.area for s in b.sections} <= set(paper.AREAS) and {s.type for s in b.sections} == set(paper.TYPES)


def test_a_blueprint_must_make_100_questions_and_100_points():
    with pytest.raises(paper.BlueprintError, match="99 questions"):
        paper.validate_blueprint(_blueprint([("single_choice", "foundation", 99, "1")]))
    with pytest.raises(paper.BlueprintError, match="points"):
        paper.validate_blueprint(_blueprint([("single_choice", "foundation", 50, "1"),
                                             ("true_false", "trading", 50, "0.5")]))
    ok = _blueprint([("single_choice", "foundation", 60, "1"), ("true_false", "trading", 40, "1")])
    assert paper.validate_blueprint(ok) is ok


def test_a_bad_blueprint_is_refused_with_every_problem_named():
    bad = _blueprint([("essay", "foundation", 50, "1"), ("single_choice", "astrology", 50, "1"),
                      ("true_false", "trading", 0, "0.25"), ("single_choice", "astrology", 1, "1")], level="L5")
    with pytest.raises(paper.BlueprintError) as refused:
        paper.validate_blueprint(bad)
    problems = " | ".join(refused.value.extra["errors"]["blueprint"])
    for words in ("unknown level 'L5'", "unknown question type 'essay'", "unknown course area 'astrology'",
                  "count and points must be positive", "appears twice", "101 questions"):
        assert words in problems
    with pytest.raises(paper.BlueprintError, match="malformed"):
        paper.blueprint_from_data({"level": "L4", "version": "x", "sections": [{"type": "single_choice"}]})


def _bank():
    bank = []
    for type_, n in (("single_choice", 60), ("multiple_choice", 25), ("true_false", 30), ("short_answer", 8)):
        keys = ("A", "B", "C", "D") if type_ in ("single_choice", "multiple_choice") else ()
        bank += [paper.BankQuestion(f"{type_}-{i}", 1, type_, paper.AREAS[i % 2], keys) for i in range(n)]
    return bank


TWO_AREAS = _blueprint([("single_choice", "foundation", 30, "1"), ("single_choice", "monitoring", 20, "1"),
                        ("multiple_choice", "foundation", 10, "1"), ("multiple_choice", "monitoring", 10, "1"),
                        ("true_false", "foundation", 15, "0.4"), ("true_false", "monitoring", 10, "0.4"),
                        ("short_answer", "foundation", 3, "4"), ("short_answer", "monitoring", 2, "4")])


def test_drawing_is_reproducible_from_its_seed_and_follows_the_blueprint_by_type_and_area():
    blueprint = paper.validate_blueprint(TWO_AREAS)
    one = paper.draw(_bank(), blueprint, seed=42)
    assert one == paper.draw(_bank(), blueprint, seed=42)
    assert one != paper.draw(_bank(), blueprint, seed=43)
    assert [q.number for q in one] == list(range(1, 101))
    assert sum(q.points for q in one) == 100
    area = {q.question_id: q.area for q in _bank()}
    counts = {}
    for q in one:
        counts[(q.type, area[q.question_id])] = counts.get((q.type, area[q.question_id]), 0) + 1
    assert counts == {(s.type, s.area): s.count for s in blueprint.sections}
    assert len({q.question_id for q in one}) == 100
    assert all(sorted(q.option_order) in ([], ["A", "B", "C", "D"]) for q in one)  # a permutation


def test_a_bank_too_small_for_the_blueprint_is_refused_naming_the_section():
    with pytest.raises(paper.BankTooSmall, match="short_answer/foundation: 0 active"):
        paper.draw([q for q in _bank() if q.type != "short_answer" or q.area != "foundation"], TWO_AREAS, seed=1)


def test_multiple_choice_scores_only_the_exact_set():
    order = ["C", "A", "D", "B"]  # shown A..D; the bank's right answer is {A, C}
    assert scoring.objective_correct("multiple_choice", ["A", "C"], ["A", "B"], order)
    assert not scoring.objective_correct("multiple_choice", ["A", "C"], ["A"], order)
    assert not scoring.objective_correct("multiple_choice", ["A", "C"], ["A", "B", "C"], order)
    assert scoring.objective_correct("single_choice", "D", "C", order)
    assert scoring.objective_correct("true_false", False, False, [])
    assert not scoring.objective_correct("true_false", False, None, [])
    assert not scoring.objective_correct("multiple_choice", ["A", "C"], [], order)


def test_the_key_is_kept_in_the_candidates_letters_and_answers_compare_in_canonical_form():
    order = ["C", "A", "D", "B"]
    assert scoring.answer_key("multiple_choice", ["C", "A"], order) == ["A", "B"]
    assert scoring.answer_key("single_choice", "B", order) == "D"
    assert scoring.answer_key("true_false", True, []) is True
    assert scoring.canonical("multiple_choice", ["B", "A"]) == ["A", "B"]  # the order given does not matter
    assert scoring.canonical("short_answer", "   ") is None  # blank: nothing to mark


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


def test_a_month_end_first_attempt_clamps_its_free_retake_window():
    failed = [attempts.PastAttempt(1, date(2026, 8, 31), final=True, passed=False)]
    assert attempts.free_retake_until(failed) == date(2027, 2, 28)
    assert attempts.next_attempt(failed, date(2027, 2, 28)) == 2
    with pytest.raises(attempts.PaidRetakeRequired):
        attempts.next_attempt(failed, date(2027, 3, 1))
    leap = [attempts.PastAttempt(1, date(2027, 8, 31), final=True, passed=False)]
    assert attempts.free_retake_until(leap) == date(2028, 2, 29)


def test_a_paid_retake_is_for_the_next_attempt_and_says_why():
    failed = [attempts.PastAttempt(1, date(2026, 8, 29), final=True, passed=False)]
    with pytest.raises(attempts.NoPaidRetakeNeeded):
        attempts.paid_retake_for(failed, date(2026, 9, 1))
    assert attempts.paid_retake_for(failed, date(2027, 3, 1)) == (2, "free_retake_expired")
    used = failed + [attempts.PastAttempt(2, date(2026, 9, 26), final=True, passed=False)]
    assert attempts.paid_retake_for(used, date(2026, 10, 1)) == (3, "free_retake_used")
    assert attempts.next_attempt(used, date(2026, 10, 31), paid=frozenset({3})) == 3
    with pytest.raises(attempts.PaidRetakeRequired):
        attempts.next_attempt(used, date(2026, 10, 31), paid=frozenset({2}))  # paid for another attempt


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


def _question(**overrides):
    q = dict(type_="single_choice", area="foundation", prompt="?",
             options=[{"key": "A", "text": "a"}, {"key": "B", "text": "b"}], answer="A", rubric=None)
    q.update(overrides)
    return q


def test_a_question_is_checked_for_its_type():
    bank.check_question(**_question())
    bank.check_question(**_question(type_="true_false", options=[], answer=False))
    bank.check_question(**_question(type_="short_answer", options=[], answer=None, rubric="要点"))
    with pytest.raises(bank.QuestionInvalid) as refused:
        bank.check_question(**_question(type_="multiple_choice", answer=["A"], area="astrology"))
    assert set(refused.value.extra["errors"]) == {"options", "answer", "area"}
    with pytest.raises(bank.QuestionInvalid, match="rubric"):
        bank.check_question(**_question(type_="short_answer", options=[], answer=None, rubric=" "))
    with pytest.raises(bank.QuestionInvalid, match="answer"):
        bank.check_question(**_question(answer="C"))


def test_a_question_in_a_paper_or_active_is_never_edited_in_place():
    assert bank.edit_in_place("draft", ever_drawn=False)
    assert bank.edit_in_place("rejected", ever_drawn=False)
    assert not bank.edit_in_place("active", ever_drawn=False)
    assert not bank.edit_in_place("draft", ever_drawn=True)
    assert not bank.edit_in_place("superseded", ever_drawn=True)
    with pytest.raises(bank.QuestionRetired):
        bank.edit_in_place("retired", ever_drawn=True)


def test_a_second_examiner_reviews():
    bank.check_review("draft", "examiner-1", "examiner-2")
    with pytest.raises(bank.SameExaminer):
        bank.check_review("draft", "examiner-1", "examiner-1")
    with pytest.raises(bank.NotInReview):
        bank.check_review("active", "examiner-1", "examiner-2")


def test_an_extra_sitting_asked_for_again_is_the_same_sitting_and_anything_else_clashes():
    closes = datetime(2026, 9, 1, 9, tzinfo=PROGRAM_TZ)
    assert sittings.same_sitting("extra", 30, closes, 30, closes)
    assert not sittings.same_sitting("extra", 30, closes, 31, closes)
    assert not sittings.same_sitting("extra", 30, closes, 30, closes - timedelta(hours=1))
    assert not sittings.same_sitting("generated", 30, closes, 30, closes)  # the rule's, never a repeat


def test_registering_again_for_the_open_registrations_sitting_is_a_repeat_and_another_sitting_names_it():
    assert attempts.is_repeat("R-1", "S-1", "S-1")
    with pytest.raises(attempts.AlreadyRegistered) as refused:
        attempts.is_repeat("R-1", "S-1", "S-2")
    assert refused.value.extra["registration_id"] == "R-1"


def test_a_bank_file_is_checked_whole_and_each_problem_named_by_question():
    good = {"id": "Q1", "type": "true_false", "area": "trading", "prompt": "对吗？", "answer": True}
    assert bank.read_bank({"sample": True, "questions": [good]}).sample is True
    with pytest.raises(bank.BankFileInvalid) as refused:
        bank.read_bank({"questions": [good, {**good, "answer": "yes"}, {**good, "id": "Q" * 21}]})
    assert set(refused.value.extra["errors"]) == {"Q1", "Q" * 21}
    assert "id: appears twice" in refused.value.extra["errors"]["Q1"]
    with pytest.raises(bank.BankFileInvalid):
        bank.read_bank(["not", "a", "mapping"])


def test_a_retirement_that_leaves_fewer_than_a_scheduled_sittings_blueprint_draws_is_refused_with_numbers():
    from collections import Counter
    blueprint = paper.Blueprint("L4", "2026.1", (paper.Section("true_false", "trading", 4, Decimal("0.4")),))
    needs = [(blueprint, "S-1", "2026-12-26T09:00:00+08:00")]
    bank.check_retirement_leaves_enough(Counter({("true_false", "trading"): 5}), ("true_false", "trading"), needs)
    bank.check_retirement_leaves_enough(Counter({("true_false", "trading"): 4}), None, needs)  # a draft
    bank.check_retirement_leaves_enough(Counter({("true_false", "trading"): 4}), ("true_false", "trading"), [])
    with pytest.raises(bank.BlueprintUnfillable) as refused:
        bank.check_retirement_leaves_enough(Counter({("true_false", "trading"): 4}), ("true_false", "trading"),
                                            needs)
    rule = refused.value.extra["rules"][0]
    assert (rule["active_after"], rule["needed"], rule["sitting_id"]) == (3, 4, "S-1")
    with pytest.raises(bank.SameExaminer):
        bank.check_retirement_review("examiner-1", "examiner-1")
