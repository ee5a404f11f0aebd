"""The question bank's rules: what a well-formed question is, and its life.

draft --(a second examiner approves)--> active --(retired)--> retired
draft --(rejected)--> rejected --(edited)--> draft
A revision that is active or was ever drawn into a paper is never changed: an
edit makes a new draft revision, which replaces the active one (superseded) only
once approved. Drafts are never drawn, so editing one in place is safe."""
from __future__ import annotations

from shared.errors import Conflict, InvalidInput, RuleViolation

from .paper import AREAS, TYPES

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
