"""Events produced by the enrollment service."""
from .fields import day, described, level, moment, text, uuid
from .registry import EventData, contract


@contract("enrollment.enrolled", 1, producer="enrollment",
          consumers=("billing", "learning", "certificate"))
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
