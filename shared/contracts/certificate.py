"""Events produced by the certificate service."""
from .fields import day, level, moment, text, uuid
from .registry import EventData, contract


@contract("certificate.issued", 1, producer="certificate", consumers=("enrollment",))
class Issued(EventData):
    """A certificate was issued and recorded in the talent registry. Carries what
    enrollment needs for the L3 route (the holder's ID hash, level and issue date)."""

    certificate_id = uuid("The certificate record.")
    certificate_number = text("The certificate number, with its check character.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    level = level()
    holder_name = text("The holder's full name.")
    id_number_hash = text("Keyed HMAC-SHA256 of the holder's ID number (hex).")
    id_number_masked = text("The holder's masked ID number.")
    base_code = text("The issuing training base's code.")
    issued_on = day("The issue date (Asia/Shanghai).")
    issued_at = moment("When the certificate was issued.")
