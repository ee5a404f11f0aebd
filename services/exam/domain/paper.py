"""The paper: a blueprint says how many questions of each type and their points
(100 questions, 100 points); each candidate gets their own drawing, order and
option order, reproducible from a recorded seed."""
from __future__ import annotations

import random
import string
from dataclasses import dataclass
from decimal import Decimal

from shared.errors import InvalidInput

TYPES = ("single_choice", "multiple_choice", "true_false", "short_answer")
OBJECTIVE = ("single_choice", "multiple_choice", "true_false")
QUESTIONS_PER_PAPER = 100
POINTS_PER_PAPER = Decimal(100)
PASS_MARK = Decimal(60)


class BlueprintError(InvalidInput):
    slug = "invalid-blueprint"
    title = "The blueprint does not make a valid paper"


@dataclass(frozen=True)
class Section:
    type: str
    count: int
    points: Decimal  # per question, one decimal place


@dataclass(frozen=True)
class Blueprint:
    version: str
    sections: tuple[Section, ...]

    @property
    def total_questions(self) -> int:
        return sum(s.count for s in self.sections)

    @property
    def total_points(self) -> Decimal:
        return sum((s.points * s.count for s in self.sections), Decimal(0))


def validate_blueprint(blueprint: Blueprint) -> Blueprint:
    problems = []
    for s in blueprint.sections:
        if s.type not in TYPES:
            problems.append(f"unknown question type {s.type!r}")
        if s.count <= 0 or s.points <= 0 or s.points != s.points.quantize(Decimal("0.1")):
            problems.append(f"{s.type}: count and points must be positive, points to one decimal")
    if len({s.type for s in blueprint.sections}) != len(blueprint.sections):
        problems.append("a question type appears twice")
    if blueprint.total_questions != QUESTIONS_PER_PAPER:
        problems.append(f"{blueprint.total_questions} questions; a paper has {QUESTIONS_PER_PAPER}")
    if blueprint.total_points != POINTS_PER_PAPER:
        problems.append(f"{blueprint.total_points} points; a paper has {POINTS_PER_PAPER}")
    if problems:
        raise BlueprintError("; ".join(problems), errors={"blueprint": problems})
    return blueprint


BLUEPRINT_V1 = validate_blueprint(Blueprint("2026.1", (
    Section("single_choice", 50, Decimal("1")),
    Section("multiple_choice", 20, Decimal("1")),
    Section("true_false", 25, Decimal("0.4")),
    Section("short_answer", 5, Decimal("4")),
)))


@dataclass(frozen=True)
class BankQuestion:
    question_id: str
    revision: int
    type: str
    option_keys: tuple[str, ...]  # as written in the bank, e.g. ("A", "B", "C", "D")


@dataclass(frozen=True)
class DrawnQuestion:
    number: int
    question_id: str
    revision: int
    type: str
    points: Decimal
    option_order: tuple[str, ...]  # bank keys in the order the candidate sees them


class BankTooSmall(InvalidInput):
    slug = "question-bank-too-small"
    title = "The question bank cannot fill this blueprint"


def draw(bank: list[BankQuestion], blueprint: Blueprint, seed: int) -> list[DrawnQuestion]:
    """The same bank, blueprint and seed always give the same paper."""
    rng = random.Random(seed)
    picked: list[tuple[BankQuestion, Decimal]] = []
    for section in blueprint.sections:
        pool = sorted((q for q in bank if q.type == section.type), key=lambda q: q.question_id)
        if len(pool) < section.count:
            raise BankTooSmall(f"{section.type}: {len(pool)} active questions, the blueprint needs "
                               f"{section.count}")
        picked += [(q, section.points) for q in rng.sample(pool, section.count)]
    rng.shuffle(picked)
    return [DrawnQuestion(number, q.question_id, q.revision, q.type, points,
                          tuple(rng.sample(q.option_keys, len(q.option_keys))))
            for number, (q, points) in enumerate(picked, start=1)]


def display_keys(count: int) -> tuple[str, ...]:
    return tuple(string.ascii_uppercase[:count])


def to_bank_keys(option_order: tuple[str, ...], shown: list[str]) -> set[str]:
    """The candidate answers with the letters they saw; map them back to the bank's."""
    letters = display_keys(len(option_order))
    return {option_order[letters.index(k)] for k in shown if k in letters}
