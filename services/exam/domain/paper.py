"""The paper: a blueprint per level says how many questions of each type and
course area a paper has and their points (100 questions, 100 points); each
candidate gets their own drawing, order and option order, reproducible from a
recorded seed."""
from __future__ import annotations

import random
import string
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from shared.errors import InvalidInput

TYPES = ("single_choice", "multiple_choice", "true_false", "short_answer")
# The occupation's work areas (the curriculum's five professional categories) and the foundation.
AREAS = ("foundation", "monitoring", "accounting", "verification", "trading", "consulting_management")
LEVELS = ("L4", "L3")
QUESTIONS_PER_PAPER = 100
POINTS_PER_PAPER = Decimal(100)
PASS_MARK = Decimal(60)
TENTH = Decimal("0.1")  # marks are whole tenths of a point, stored as integer tenths


def tenths(points: Decimal) -> int:
    """Points as the integer tenths the database keeps."""
    return int(points / TENTH)


def points(tenths_: int) -> Decimal:
    """Integer tenths as points, exact to the tenth."""
    return (Decimal(tenths_) * TENTH).quantize(TENTH)


class BlueprintError(InvalidInput):
    slug = "invalid-blueprint"
    title = "The blueprint does not make a valid paper"


@dataclass(frozen=True)
class Section:
    type: str
    area: str
    count: int
    points: Decimal  # per question, one decimal place


@dataclass(frozen=True)
class Blueprint:
    level: str
    version: str
    sections: tuple[Section, ...]

    @property
    def name(self) -> str:
        """What a paper records: level and version, e.g. L4-2026.1."""
        return f"{self.level}-{self.version}"

    @property
    def total_questions(self) -> int:
        return sum(s.count for s in self.sections)

    @property
    def total_points(self) -> Decimal:
        return sum((s.points * s.count for s in self.sections), Decimal(0))


def validate_blueprint(blueprint: Blueprint) -> Blueprint:
    """Every problem at once, so whoever wrote it can fix them together."""
    problems = []
    if blueprint.level not in LEVELS:
        problems.append(f"unknown level {blueprint.level!r}")
    for s in blueprint.sections:
        where = f"{s.type}/{s.area}"
        if s.type not in TYPES:
            problems.append(f"{where}: unknown question type {s.type!r}")
        if s.area not in AREAS:
            problems.append(f"{where}: unknown course area {s.area!r}")
        if s.count <= 0 or s.points <= 0 or s.points != s.points.quantize(TENTH):
            problems.append(f"{where}: count and points must be positive, points to one decimal")
    pairs = [(s.type, s.area) for s in blueprint.sections]
    if len(set(pairs)) != len(pairs):
        problems.append("a (type, area) pair appears twice")
    if blueprint.total_questions != QUESTIONS_PER_PAPER:
        problems.append(f"{blueprint.total_questions} questions; a paper has {QUESTIONS_PER_PAPER}")
    if blueprint.total_points != POINTS_PER_PAPER:
        problems.append(f"{blueprint.total_points} points; a paper has {POINTS_PER_PAPER}")
    if problems:
        raise BlueprintError("; ".join(problems), errors={"blueprint": problems})
    return blueprint


def blueprint_from_data(data: dict) -> Blueprint:
    """A blueprint as written in the data file: level, version and sections of
    {type, area, count, points}; validated."""
    try:
        sections = tuple(Section(s["type"], s["area"], int(s["count"]), Decimal(str(s["points"])))
                         for s in data["sections"])
        blueprint = Blueprint(str(data["level"]), str(data["version"]), sections)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise BlueprintError(f"malformed blueprint: {exc!r}", errors={"blueprint": [repr(exc)]}) from exc
    return validate_blueprint(blueprint)


@dataclass(frozen=True)
class BankQuestion:
    question_id: str
    revision: int
    type: str
    area: str
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
    short = []
    for section in blueprint.sections:
        pool = sorted((q for q in bank if (q.type, q.area) == (section.type, section.area)),
                      key=lambda q: q.question_id)
        if len(pool) < section.count:
            short.append(f"{section.type}/{section.area}: {len(pool)} active questions, "
                         f"the blueprint needs {section.count}")
            continue
        picked += [(q, section.points) for q in rng.sample(pool, section.count)]
    if short:
        raise BankTooSmall("; ".join(short), errors={"bank": short})
    rng.shuffle(picked)
    return [DrawnQuestion(number, q.question_id, q.revision, q.type, points,
                          tuple(rng.sample(q.option_keys, len(q.option_keys))))
            for number, (q, points) in enumerate(picked, start=1)]


def display_keys(count: int) -> tuple[str, ...]:
    return tuple(string.ascii_uppercase[:count])


def to_display_keys(option_order: tuple[str, ...], bank_keys) -> list[str]:
    """The bank's keys in the letters this candidate sees, sorted."""
    letters = display_keys(len(option_order))
    return sorted(letters[option_order.index(k)] for k in bank_keys)
