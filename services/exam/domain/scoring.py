"""Scoring: objective answers automatically, short answers by examiners.

Multiple choice earns its points only for exactly the right set of options
(no partial credit: a missing or an extra option scores 0). An unanswered
question scores 0; an unanswered short answer needs no examiner.

Each paper question keeps its key in the letters its candidate sees, in the same
canonical form as a saved answer (a multiple-choice set sorted, a blank short
answer as nothing), so "right" is plain equality and the close can score 20,000
papers in one statement per batch."""
from __future__ import annotations

from decimal import Decimal

from shared.errors import InvalidInput

from .paper import PASS_MARK, TENTH, to_display_keys


class InvalidAnswer(InvalidInput):
    slug = "invalid-answer"
    title = "The answer does not fit the question"


def check_answer_shape(type_: str, option_count: int, answer) -> None:
    letters = [chr(ord("A") + i) for i in range(option_count)]
    ok = {
        "single_choice": lambda a: isinstance(a, str) and a in letters,
        "multiple_choice": lambda a: isinstance(a, list) and a and len(set(a)) == len(a)
                                    and all(isinstance(x, str) and x in letters for x in a),
        "true_false": lambda a: isinstance(a, bool),
        "short_answer": lambda a: isinstance(a, str) and len(a) <= 5000,
    }[type_]
    if answer is not None and not ok(answer):
        raise InvalidAnswer(f"not a valid {type_.replace('_', ' ')} answer",
                            errors={"answer": [f"expected {_expected(type_, letters)}"]})


def _expected(type_, letters):
    return {"single_choice": f"one of {letters}", "multiple_choice": f"a list of distinct {letters}",
            "true_false": "true or false", "short_answer": "text up to 5000 characters"}[type_]


def canonical(type_: str, answer):
    """A saved answer in the form scoring compares (shape already checked)."""
    if answer is None:
        return None
    if type_ == "multiple_choice":
        return sorted(answer)
    if type_ == "short_answer":
        return answer if answer.strip() else None
    return answer


def answer_key(type_: str, correct, option_order) -> object:
    """The bank's right answer as this candidate must give it."""
    if type_ == "single_choice":
        return to_display_keys(tuple(option_order), [correct])[0]
    if type_ == "multiple_choice":
        return to_display_keys(tuple(option_order), correct)
    if type_ == "true_false":
        return bool(correct)
    return None  # short answers are marked by examiners


def objective_correct(type_: str, correct, answer, option_order) -> bool:
    return answer is not None and canonical(type_, answer) == answer_key(type_, correct, option_order)


def passed(score: Decimal) -> bool:
    return score >= PASS_MARK


def check_mark(points: Decimal, maximum: Decimal) -> None:
    if not Decimal(0) <= points <= maximum or points != points.quantize(TENTH):
        raise InvalidInput(f"a mark is 0 to {maximum} in steps of 0.1",
                           errors={"points": [f"0..{maximum}, one decimal place"]})
