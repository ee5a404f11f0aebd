"""Certificate's API payloads."""
from marshmallow import Schema, fields, validate


class VerifyQuery(Schema):
    number = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))


class Verification(Schema):
    """What anyone may learn: nothing beyond what a verifier needs."""
    status = fields.Str(metadata={"description": "valid, superseded or revoked"})
    number = fields.Str()
    holder_name = fields.Str()
    level = fields.Str()
    issued_on = fields.Date()
    base_name = fields.Str()
    id_number_masked = fields.Str()


class Certificate(Schema):
    certificate_id = fields.UUID()
    number = fields.Str()
    serial = fields.Int()
    enrollment_id = fields.UUID()
    level = fields.Str()
    holder_name = fields.Str()
    id_number_masked = fields.Str()
    base_code = fields.Str()
    base_name = fields.Str()
    issued_on = fields.Date()
    status = fields.Str()
    verify_url = fields.Str()
