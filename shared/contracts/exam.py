"""Events produced by the exam service."""
from marshmallow import fields, validate

from .fields import described, level, moment, text, uuid
from .registry import EventData, contract


@contract("exam.registered", 1, producer="exam", consumers=("identity",))
class Registered(EventData):
    """The learner holds a seat at a sitting (registration confirmed). Identity tells
    the learner the sitting's time; a later move or release comes as
    `exam.sitting-changed`. Emitted once per registration."""
    registration_id = uuid("The registration.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    sitting_id = uuid("The sitting.")
    level = level()
    attempt_number = described(fields.Int, "1 for the first attempt, 2 for the first retake, ...",
                               strict=True, validate=validate.Range(min=1))
    starts_at = moment("When the sitting's slot starts.")
    ends_at = moment("When the slot ends (the paper closes).")
    registered_at = moment("When the seat was taken.")


@contract("exam.graded", 1, producer="exam", consumers=("enrollment", "certificate", "identity"))
class Graded(EventData):
    """An attempt's result is final (every short answer marked). Emitted exactly
    once per attempt. Pass is a score of 60 or more out of 100."""

    attempt_id = uuid("The attempt (the registration for a sitting).")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    level = level()
    sitting_id = uuid("The sitting the attempt belongs to.")
    attempt_number = described(fields.Int, "1 for the first attempt, 2 for the first retake, ...",
                               validate=validate.Range(min=1))
    score = described(fields.Decimal, "The score out of 100, one decimal place.", as_string=True,
                      places=1, validate=validate.Range(min=0, max=100))
    passed = described(fields.Bool, "True when the score is 60 or more.")
    graded_at = moment("When the result became final.")


@contract("exam.retake-required", 1, producer="exam", consumers=("billing",))
class RetakeRequired(EventData):
    """The learner wants a further attempt and has no free retake left (used, or
    its 6 months since the first attempt have passed): billing opens a retake order
    at the configured retake fee. Emitted once per (enrollment, attempt_number)."""
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    level = level()
    attempt_number = described(fields.Int, "The attempt the paid retake is for.", strict=True,
                               validate=validate.Range(min=2))
    reason = described(fields.Str, "Why it is not free: free_retake_used or free_retake_expired.",
                       validate=validate.OneOf(("free_retake_used", "free_retake_expired")))
    required_at = moment("When exam asked for the paid retake.")


@contract("exam.sitting-changed", 1, producer="exam", consumers=("enrollment", "identity"))
class SittingChanged(EventData):
    """An administrator moved or cancelled a sitting a candidate was registered for.
    One event per affected registration: `moved` keeps the registration at the new
    time; `released` frees it (the candidate registers again, the attempt unused)."""
    registration_id = uuid("The candidate's registration.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    sitting_id = uuid("The sitting.")
    change = described(fields.Str, "moved or released.", validate=validate.OneOf(("moved", "released")))
    starts_at = described(fields.AwareDateTime, "The new start (moved), or null (released).",
                          allow_none=True)
    previous_starts_at = moment("The start before the change.")
    reason = text("The administrator's reason.")
    changed_at = moment("When the change was made.")
