"""Certificate's API payloads."""
from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from shared.web.pagination import page_of
from shared.web.fields import ProgramDate

LEVELS = ("L4", "L3")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be blank")

STATUSES = ("valid", "superseded", "revoked")


class VerifyQuery(Schema):
    number = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))


class VerifyPageQuery(Schema):
    """The page's form: both given, it looks the certificate up (longer values are cut)."""
    number = fields.Str(validate=validate.Length(max=60))
    name = fields.Str(validate=validate.Length(max=100))


class HistoryEntry(Schema):
    serial = fields.Int()
    status = fields.Str()
    since = fields.Date(metadata={"description": "When this serial took its status (issue, reissue, revocation)."})


class Verification(Schema):
    """What anyone may learn: nothing beyond what a verifier needs."""
    status = fields.Str(metadata={"description": "valid, superseded or revoked (of the serial the name is on)"})
    origin = fields.Str(metadata={"description": "issued (by this system) or imported (issued by the program "
                                                 "before it; issued_on is the original issue date)"})
    number = fields.Str()
    serial = fields.Int(metadata={"description": "The serial the given name is on (1 = first issue)."})
    holder_name = fields.Str()
    level = fields.Str()
    issued_on = fields.Date()
    base_name = fields.Str()
    id_number_masked = fields.Str()
    current_serial = fields.Int(metadata={"description": "The number's current serial."})
    history = fields.List(fields.Nested(HistoryEntry), metadata={"description": "Every serial of the number."})


class CertificateRecord(Schema):
    """One serial of a certificate, as its holder, their base and administrators see it."""
    certificate_id = fields.UUID()
    number = fields.Str()
    serial = fields.Int()
    status = fields.Str()
    enrollment_id = fields.UUID(allow_none=True, metadata={"description": "None for an imported certificate."})
    origin = fields.Str(metadata={"description": "issued or imported"})
    level = fields.Str()
    holder_name = fields.Str()
    id_number_masked = fields.Str()
    base_code = fields.Str()
    base_name = fields.Str()
    issued_on = fields.Date()
    status_changed_at = fields.AwareDateTime(allow_none=True)
    imported_at = fields.AwareDateTime(allow_none=True)


class Certificate(CertificateRecord):
    key_id = fields.Str()
    verify_url = fields.Str()


class Key(Schema):
    kty = fields.Str()
    crv = fields.Str()
    kid = fields.Str()
    use = fields.Str()
    alg = fields.Str()
    x = fields.Str(metadata={"description": "The raw Ed25519 public key, base64url."})


class KeySet(Schema):
    """A JSON Web Key Set (RFC 8037): the signing key first, then retired ones."""
    keys = fields.List(fields.Nested(Key))


class RegistrySearch(Schema):
    """Every criterion given must hold. The ID number is matched by its keyed hash."""
    name = fields.Str(validate=validate.Length(min=1, max=100), metadata={"description": "Part of the holder's name."})
    number = fields.Str(validate=validate.Length(min=1, max=60))
    level = fields.Str(validate=validate.OneOf(LEVELS))
    base_code = fields.Str(validate=validate.Length(min=1, max=32))
    status = fields.Str(validate=validate.OneOf(STATUSES))
    issued_from = ProgramDate()
    issued_to = ProgramDate()
    id_number = fields.Str(validate=validate.Length(min=1, max=30))
    include_superseded = fields.Bool(load_default=False)

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("issued_from") and data.get("issued_to") and data["issued_from"] > data["issued_to"]:
            raise ValidationError("issued_from is after issued_to", "issued_to")


class RegistryEntry(CertificateRecord):
    """A registry row for administrators: with the reasons behind a status."""
    correction_reason = fields.Str(allow_none=True)
    revocation_reason = fields.Str(allow_none=True)
    imported_by = fields.Str(allow_none=True, metadata={"description": "An imported certificate: who imported it."})
    import_file_sha256 = fields.Str(allow_none=True, metadata={"description": "An imported certificate: the "
                                                                            "SHA-256 of the file it came in."})


RegistryPage = page_of(RegistryEntry, "RegistryPage")


class Correction(Schema):
    """The learner's data on the certificate was wrong: the corrected name and/or ID number."""
    holder_name = fields.Str(validate=[validate.Length(min=1, max=100), _not_blank])
    id_number = fields.Str(validate=validate.Length(min=1, max=30))
    reason = fields.Str(required=True, validate=[validate.Length(min=2, max=1000), _not_blank])

    @validates_schema
    def _something(self, data, **kwargs):
        if not data.get("holder_name") and not data.get("id_number"):
            raise ValidationError("give the corrected holder_name, id_number or both", "holder_name")


class Revocation(Schema):
    reason = fields.Str(required=True, validate=[validate.Length(min=2, max=1000), _not_blank])


class ImportedRow(Schema):
    row = fields.Int(metadata={"description": "The row number as a spreadsheet shows it (the header is 1)."})
    number = fields.Str(allow_none=True)
    outcome = fields.Str(metadata={"description": "imported, already_imported or refused"})
    reasons = fields.List(fields.Str(), metadata={"description": "Why a row was refused, field by field."})
    certificate_id = fields.UUID(metadata={"description": "The registry record (imported or already imported)."})


class ImportResult(Schema):
    file_sha256 = fields.Str()
    imported = fields.Int()
    already_imported = fields.Int()
    refused = fields.Int()
    results = fields.List(fields.Nested(ImportedRow))


class TalentExport(Schema):
    """The period of the export: certificates issued from .. to (both included)."""
    issued_from = ProgramDate(required=True)
    issued_to = ProgramDate(required=True)

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("issued_from") and data.get("issued_to") and data["issued_from"] > data["issued_to"]:
            raise ValidationError("issued_from is after issued_to", "issued_to")
