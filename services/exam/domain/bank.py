"""The question bank's rules: what a well-formed question is, and its life.

draft --(a second examiner approves)--> active --(retired)--> retired
draft --(rejected)--> rejected --(edited)--> draft
A revision that is active or was ever drawn into a paper is never changed: an
edit makes a new draft revision, which replaces the active one (superseded) only
once approved. Drafts are never drawn, so editing one in place is safe."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from shared.errors import Conflict, InvalidInput, RuleViolation

from .paper import AREAS, TYPES, Blueprint

CHOICE = ("single_choice", "multiple_choice")
MAX_OPTIONS = 8


class QuestionInvalid(InvalidInput):
    slug = "invalid-question"
    title = "The question is not well formed"


class SameExaminer(RuleViolation):
    slug = "second-examiner-required"
    title = "A question is approved by an examiner other than its author"


class NotInReview(Conflict):
    slug = "question-not-in-review"
    title = "Only a draft revision can be reviewed"


class QuestionRetired(Conflict):
    slug = "question-retired"
    title = "The question is retired"


def check_question(type_: str, area: str, prompt: str, options: list[dict], answer, rubric) -> None:
    """Every problem at once, by field."""
    errors: dict[str, list[str]] = {}

    def bad(field, message):
        errors.setdefault(field, []).append(message)

    if type_ not in TYPES:
        bad("type", f"one of {', '.join(TYPES)}")
    if area not in AREAS:
        bad("area", f"one of {', '.join(AREAS)}")
    if not prompt.strip():
        bad("prompt", "must not be blank")
    keys = [o["key"] for o in options]
    if type_ in CHOICE:
        if not 2 + (type_ == "multiple_choice") <= len(options) <= MAX_OPTIONS:
            bad("options", f"{type_.replace('_', ' ')} needs "
                           f"{2 + (type_ == 'multiple_choice')} to {MAX_OPTIONS} options")
        if len(set(keys)) != len(keys) or any(not o["text"].strip() for o in options):
            bad("options", "option keys must be distinct and texts not blank")
    elif options:
        bad("options", f"a {type_.replace('_', ' ')} question has no options")
    if type_ == "single_choice" and not (isinstance(answer, str) and answer in keys):
        bad("answer", "the key of the one right option")
    if type_ == "multiple_choice" and not (
            isinstance(answer, list) and len(answer) >= 2 and len(set(answer)) == len(answer)
            and all(a in keys for a in answer)):
        bad("answer", "the keys of at least two right options")
    if type_ == "true_false" and not isinstance(answer, bool):
        bad("answer", "true or false")
    if type_ == "short_answer":
        if answer is not None:
            bad("answer", "a short answer has a rubric, not an answer")
        if not (rubric or "").strip():
            bad("rubric", "a short answer needs a marking rubric")
    elif rubric:
        bad("rubric", "only short answers have a rubric")
    if errors:
        raise QuestionInvalid("; ".join(f"{k}: {' / '.join(v)}" for k, v in errors.items()), errors=errors)


# -- a bank file: the questions an exam database is seeded with -------------------------

MAX_ID = 20


class BankFileInvalid(InvalidInput):
    slug = "invalid-bank-file"
    title = "The question bank file is not valid"


@dataclass(frozen=True)
class BankFile:
    questions: tuple[dict, ...]
    sample: bool  # the repository's sample: its answers are public


def read_bank(data) -> BankFile:
    """A parsed bank file ({sample?, questions: [{id, type, area, prompt, options,
    answer, rubric}]}), every question checked; every problem at once, by id."""
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise BankFileInvalid("a bank file is a mapping with a list of questions",
                              errors={"questions": ["missing or not a list"]})
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for n, q in enumerate(data["questions"], start=1):
        qid = q.get("id") if isinstance(q, dict) else None
        where = str(qid) if qid else f"#{n}"
        if not isinstance(qid, str) or not 1 <= len(qid) <= MAX_ID:
            errors.setdefault(where, []).append(f"id: 1 to {MAX_ID} characters")
        elif qid in seen:
            errors.setdefault(where, []).append("id: appears twice")
        seen.add(qid)
        if not isinstance(q, dict):
            continue
        try:
            options = q.get("options") or []
            if not all(isinstance(o, dict) and {"key", "text"} <= set(o) for o in options):
                raise QuestionInvalid("options", errors={"options": ["each option has a key and a text"]})
            check_question(q.get("type"), q.get("area"), str(q.get("prompt") or ""), options,
                           q.get("answer"), q.get("rubric"))
        except QuestionInvalid as exc:
            errors.setdefault(where, []).extend(f"{field}: {' / '.join(msgs)}"
                                                for field, msgs in exc.extra["errors"].items())
    if errors:
        raise BankFileInvalid(f"{len(errors)} question(s) are not valid: "
                              + "; ".join(f"{k}: {', '.join(v)}" for k, v in list(errors.items())[:10]),
                              errors=errors)
    return BankFile(tuple(data["questions"]), bool(data.get("sample", False)))


# -- retirement: a second examiner, and never below what a scheduled sitting needs ---------

class RetirementPending(Conflict):
    slug = "retirement-pending"
    title = "A retirement of this question is waiting for a second examiner"


class NoRetirementPending(Conflict):
    slug = "no-retirement-pending"
    title = "No retirement of this question is waiting for review"


class BlueprintUnfillable(RuleViolation):
    slug = "blueprint-unfillable"
    title = "Retiring the question would leave too few to draw a scheduled sitting's papers"


def check_retirement_review(requested_by: str, reviewer: str) -> None:
    if requested_by == reviewer:
        raise SameExaminer("the examiner who asked for the retirement cannot approve it",
                           rules=[{"rule": "FOUR_EYES", "message": "a second examiner reviews"}])


def check_retirement_leaves_enough(active: Counter, retiring: tuple[str, str] | None,
                                   needs: list[tuple[Blueprint, str, str]]) -> None:
    """`active`: active questions per (type, area); `retiring`: the (type, area) of
    the active revision retired, None when none is active; `needs`: the blueprint
    each scheduled sitting draws by, with that sitting's id and start. Refused,
    with the numbers, when fewer questions would be left than a blueprint draws."""
    if retiring is None:
        return
    left = active[retiring] - 1
    short = []
    for blueprint, sitting_id, starts_at in needs:
        for section in blueprint.sections:
            if (section.type, section.area) == retiring and left < section.count:
                short.append({"rule": "BLUEPRINT_FILLABLE", "blueprint": blueprint.name, "type": section.type,
                              "area": section.area, "active_after": left, "needed": section.count,
                              "sitting_id": sitting_id, "starts_at": starts_at,
                              "message": f"{section.type}/{section.area}: {left} active question(s) would be "
                                         f"left, blueprint {blueprint.name} draws {section.count} for the "
                                         f"sitting at {starts_at}"})
    if short:
        raise BlueprintUnfillable(short[0]["message"] + "; add or approve another question first",
                                  rules=short)


def edit_in_place(status: str, ever_drawn: bool) -> bool:
    """True when an edit may change the revision itself; False: a new revision."""
    if status == "retired":
        raise QuestionRetired("a retired question is not edited; write a new one")
    return status in ("draft", "rejected") and not ever_drawn


def check_review(status: str, author: str | None, reviewer: str) -> None:
    if status != "draft":
        raise NotInReview(f"the latest revision is {status}")
    if author == reviewer:
        raise SameExaminer("the author cannot approve their own question",
                           rules=[{"rule": "FOUR_EYES", "message": "a second examiner reviews"}])
