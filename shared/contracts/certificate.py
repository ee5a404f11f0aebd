"""Events produced by the certificate service."""
from marshmallow import fields, validate

from .fields import day, described, level, moment, optional, text, uuid
from .registry import EventData, contract


@contract("certificate.issued", 1, producer="certificate", consumers=("enrollment", "identity"))
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


@contract("certificate.reissued", 1, producer="certificate", consumers=("enrollment",))
class Reissued(EventData):
    """A correction (the learner's data was wrong) reissued the certificate: the
    same number with the next serial; the previous serial is now superseded. v1:
    still handled while v1 events may be in flight; the producer emits v2."""
    certificate_id = uuid("The new certificate record.")
    certificate_number = text("The certificate number (unchanged by a correction).")
    serial = described(fields.Int, "The new serial (the first issue is 1).", strict=True,
                       validate=validate.Range(min=2))
    superseded_certificate_id = uuid("The record it supersedes.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    level = level()
    holder_name = text("The holder's full name, corrected.")
    id_number_hash = text("Keyed HMAC-SHA256 of the holder's (corrected) ID number (hex).")
    id_number_masked = text("The holder's masked ID number, corrected.")
    issued_on = day("The original issue date (a correction does not change it).")
    reason = text("What was corrected and why.")
    reissued_at = moment("When the correction was made.")


@contract("certificate.revoked", 1, producer="certificate", consumers=("enrollment",))
class Revoked(EventData):
    """An administrator revoked the certificate (fraud), with a reason. It no longer
    counts for the L3 route and verification shows it revoked. v1: still handled
    while v1 events may be in flight; the producer emits v2."""
    certificate_id = uuid("The revoked certificate record.")
    certificate_number = text("The certificate number.")
    enrollment_id = uuid("The enrollment.")
    learner_id = uuid("The learner.")
    level = level()
    id_number_hash = text("Keyed HMAC-SHA256 of the holder's ID number (hex).")
    reason = text("The administrator's reason.")
    revoked_at = moment("When it was revoked.")


@contract("certificate.reissued", 2, producer="certificate", consumers=("enrollment",))
class ReissuedV2(EventData):
    """A correction reissued the certificate (as v1). v2: `enrollment_id` and
    `learner_id` are null for an imported certificate (v1 required both)."""
    certificate_id = uuid("The new certificate record.")
    certificate_number = text("The certificate number (unchanged by a correction).")
    serial = described(fields.Int, "The new serial (the first issue is 1).", strict=True,
                       validate=validate.Range(min=2))
    superseded_certificate_id = uuid("The record it supersedes.")
    enrollment_id = optional(fields.UUID, "The enrollment; absent (null) for an imported certificate.")
    learner_id = optional(fields.UUID, "The learner; absent (null) for an imported certificate.")
    level = level()
    holder_name = text("The holder's full name, corrected.")
    id_number_hash = text("Keyed HMAC-SHA256 of the holder's (corrected) ID number (hex).")
    id_number_masked = text("The holder's masked ID number, corrected.")
    issued_on = day("The original issue date (a correction does not change it).")
    reason = text("What was corrected and why.")
    reissued_at = moment("When the correction was made.")


@contract("certificate.revoked", 2, producer="certificate", consumers=("enrollment",))
class RevokedV2(EventData):
    """An administrator revoked the certificate (as v1). v2: `enrollment_id` and
    `learner_id` are null for an imported certificate (v1 required both)."""
    certificate_id = uuid("The revoked certificate record.")
    certificate_number = text("The certificate number.")
    enrollment_id = optional(fields.UUID, "The enrollment; absent (null) for an imported certificate.")
    learner_id = optional(fields.UUID, "The learner; absent (null) for an imported certificate.")
    level = level()
    id_number_hash = text("Keyed HMAC-SHA256 of the holder's ID number (hex).")
    reason = text("The administrator's reason.")
    revoked_at = moment("When it was revoked.")


@contract("certificate.imported", 1, producer="certificate", consumers=("enrollment",))
class Imported(EventData):
    """An administrator imported a certificate the program issued before this system
    (it has no enrollment here). Counts for the L3 route exactly like an issued one."""
    certificate_id = uuid("The certificate record.")
    certificate_number = text("The certificate number as printed.")
    level = level()
    holder_name = text("The holder's full name.")
    id_number_hash = text("Keyed HMAC-SHA256 of the holder's ID number (hex).")
    id_number_masked = text("The holder's masked ID number.")
    base_code = described(fields.Str, "The issuing base's code (empty when the file gave none).")
    base_name = text("The issuing base's name.")
    issued_on = day("The original issue date (Asia/Shanghai).")
    imported_at = moment("When it was imported.")
    imported_by = text("The administrator who imported it.")
    import_file_sha256 = text("SHA-256 (hex) of the file it came in.")
