"""Events produced by the exam service."""
from marshmallow import fields, validate

from .fields import described, level, moment, uuid
from .registry import EventData, contract


@contract("exam.graded", 1, producer="exam", consumers=("enrollment", "certificate"))
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
