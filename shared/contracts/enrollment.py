"""Events produced by the enrollment service."""
from marshmallow import fields, validate

from .fields import day, described, level, moment, optional, text, uuid
from .registry import EventData, contract


@contract("enrollment.enrolled", 1, producer="enrollment",
          consumers=("billing", "learning", "certificate", "identity"))
class Enrolled(EventData):
    """An authorized training base enrolled a learner who met the level's
    eligibility rules. Starts the learner's journey: its id is the journey's
    correlation id. Carries no raw ID number: only its keyed hash and masked form."""

    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner (stable across enrollments; derived from the ID number's keyed hash).")
    level = level()
    full_name = text("The learner's full name as on the resident ID.")
    id_number_hash = text("Keyed HMAC-SHA256 of the 18-digit resident ID number (hex).")
    id_number_masked = text("The ID number for display, e.g. 3604**********0071.")
    base_code = text("The enrolling training base's code.")
    base_name = text("The enrolling training base's name.")
    enrolled_on = day("The enrollment date (Asia/Shanghai).")
    enrolled_at = moment("When the enrollment was accepted.")
    mobile = optional(fields.Str, "The learner's mobile number as the base entered it (11 digits): "
                      "identity delivers the login to it. Absent in events emitted before it was "
                      "carried.", validate=validate.Length(max=20))


@contract("enrollment.cancelled", 1, producer="enrollment", consumers=("billing",))
class Cancelled(EventData):
    """An enrollment was cancelled before payment (by its base or an administrator).
    Billing closes the enrollment's open order; a payment that still arrives for it
    goes to the clerk's review queue as a refund due."""
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    level = level()
    base_code = text("The enrolling training base's code.")
    reason = text("Why it was cancelled, as the person who cancelled it wrote it.")
    cancelled_at = moment("When it was cancelled.")


@contract("enrollment.base-authorization-changed", 1, producer="enrollment", consumers=("identity",))
class BaseAuthorizationChanged(EventData):
    """A training base was registered, suspended, reinstated or had its authorization
    period changed (by an administrator, with a reason). Identity refuses logins and
    token refreshes of a suspended base's operators. The correlation id is the base's
    own (a name-based UUID of its code), the same for every change of one base."""
    base_code = text("The training base's code.")
    base_name = text("The training base's name.")
    action = described(fields.Str, "registered, suspended, reinstated or period_changed.",
                       validate=validate.OneOf(("registered", "suspended", "reinstated", "period_changed")))
    suspended = described(fields.Bool, "True while the base is suspended.")
    authorized_from = day("First day of the authorization period.")
    authorized_until = day("Last day of the authorization period, inclusive.")
    reason = text("The administrator's reason.")
    changed_at = moment("When the change was recorded.")


@contract("enrollment.roster-finished", 1, producer="enrollment", consumers=("identity",))
class RosterFinished(EventData):
    """A base's bulk-enrollment roster (CSV) was processed to its end: every row has
    its outcome. Identity tells the operator who uploaded it. Emitted once per roster
    (a re-upload of the same file answers the first result and emits nothing)."""
    upload_id = uuid("The roster upload (also the event's correlation id).")
    base_code = text("The training base's code.")
    uploaded_by = text("The token subject of the operator who uploaded it.")
    rows = described(fields.Int, "Data rows in the file.", strict=True, validate=validate.Range(min=0))
    created = described(fields.Int, "Rows that became enrollments.", strict=True,
                        validate=validate.Range(min=0))
    failed = described(fields.Int, "Rows refused (each with its problem in the upload's result).",
                       strict=True, validate=validate.Range(min=0))
    finished_at = moment("When the last row was recorded.")
