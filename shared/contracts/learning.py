"""Events produced by the learning service."""
from marshmallow import fields, validate

from .fields import day, described, level, moment, text, uuid
from .registry import EventData, contract


@contract("learning.account-opened", 1, producer="learning", consumers=("enrollment", "identity"))
class AccountOpened(EventData):
    """Payment opened the learner's learning account: it accepts study progress
    from valid_from through valid_until, end of day Asia/Shanghai."""

    account_id = uuid("The learning account.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    level = level()
    catalog_version = text("The catalog version the account studies (fixed for its life).")
    valid_from = day("First day of validity (activation day, Asia/Shanghai).")
    valid_until = day("Last day of validity, inclusive (6 calendar months, month-end clamped).")
    opened_at = moment("When the account was opened.")


@contract("learning.course-completed", 1, producer="learning",
          consumers=("enrollment", "exam"))
class CourseCompleted(EventData):
    """Every required course of the learner's program is complete: the learner's
    coursework is complete and they may register for an exam sitting. Emitted
    exactly once per account."""

    account_id = uuid("The learning account.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    level = level()
    catalog_version = text("The catalog version studied.")
    class_hours_by_category = described(
        fields.Dict, "Completed class hours per course category.",
        keys=fields.Str(), values=fields.Int(strict=True, validate=validate.Range(min=0)))
    total_class_hours = described(fields.Int, "Completed class hours in all.",
                                  validate=validate.Range(min=0))
    completed_at = moment("When the last required course was completed.")


@contract("learning.study-started", 1, producer="learning", consumers=("billing",))
class StudyStarted(EventData):
    """The account recorded its first accepted study time. From now on a refund
    needs an administrator's override. Emitted once per account."""
    account_id = uuid("The learning account.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    started_at = moment("When the first accepted study session started.")


@contract("learning.account-expired", 1, producer="learning", consumers=("enrollment", "identity"))
class AccountExpired(EventData):
    """The account's validity ended (end of valid_until, Asia/Shanghai). It accepts
    no more study. Emitted once per account, by the expiry timer."""
    account_id = uuid("The learning account.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    valid_until = day("The last day of validity that has now passed.")
    coursework_complete = described(fields.Bool, "True when the coursework was complete before expiry.")
    expired_at = moment("When the expiry was recorded.")


@contract("learning.account-extended", 1, producer="learning", consumers=("enrollment", "identity"))
class AccountExtended(EventData):
    """An administrator extended the account's validity (recorded with a reason)."""
    account_id = uuid("The learning account.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    previous_valid_until = day("The last day of validity before the extension.")
    valid_until = day("The new last day of validity, inclusive.")
    reason = text("The administrator's reason.")
    extended_at = moment("When the extension was recorded.")
