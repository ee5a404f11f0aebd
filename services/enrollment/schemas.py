"""Enrollment's API payloads."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.web.pagination import PageQuery, page_of
from shared.web.fields import ProgramDate, Text

from .domain.eligibility import STATUSES, TIERS

LEVELS = ("L4", "L3")
# Who the program is for (domain.md): recorded per learner, used in reports.
SECTORS = ("power", "petrochemicals", "steel", "cement", "coal", "nonferrous_metals", "aviation",
           "finance", "new_energy", "carbon_verification", "carbon_trading",
           "environmental_protection", "low_carbon_consulting", "other")


class BaseRegistration(Schema):
    code = fields.Str(required=True, validate=[validate.Length(min=2, max=32), validate.Regexp(
                      r"^[A-Z0-9-]{2,32}$", error="2-32 capital letters, digits or '-'")])
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    contact = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    authorized_from = ProgramDate(required=True)
    authorized_until = ProgramDate(required=True)

    @validates_schema
    def _period(self, data, **kwargs):
        if data["authorized_until"] < data["authorized_from"]:
            raise ValidationError("ends before it starts", "authorized_until")


class Reason(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class AuthorizationPeriod(Schema):
    authorized_from = ProgramDate(required=True)
    authorized_until = ProgramDate(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _period(self, data, **kwargs):
        if data["authorized_until"] < data["authorized_from"]:
            raise ValidationError("ends before it starts", "authorized_until")


class AuthorizationChange(Schema):
    action = fields.Str(metadata={"description": "registered, suspended, reinstated or period_changed"})
    authorized_from = fields.Date()
    authorized_until = fields.Date()
    suspended = fields.Bool()
    reason = fields.Str()
    changed_by = fields.Str()
    at = fields.AwareDateTime()


class TrainingBase(Schema):
    code = fields.Str()
    name = fields.Str()
    contact = fields.Str()
    authorized_from = fields.Date()
    authorized_until = fields.Date()
    suspended = fields.Bool()
    authorization = fields.Str(metadata={"description": "today: valid, suspended, not_yet_valid "
                                         "or expired; only a valid base enrolls"})
    history = fields.List(fields.Nested(AuthorizationChange))


TrainingBaseList = page_of(TrainingBase, "TrainingBaseList")


class Education(Schema):
    tier = fields.Str(required=True, validate=validate.OneOf(TIERS))
    status = fields.Str(required=True, validate=validate.OneOf(STATUSES))


class Application(Schema):
    full_name = Text(100, min=1, required=True)
    id_number = Text(18, required=True, validate=[validate.Length(equal=18)])
    mobile = Text(20, min=1, required=True)
    level = fields.Str(required=True, validate=validate.OneOf(LEVELS))
    education = fields.Nested(Education, required=True)
    related_work_months = fields.Int(required=True, strict=True, validate=validate.Range(0, 720))
    work_months_since_l4 = fields.Int(strict=True, load_default=0, validate=validate.Range(0, 720),
                                      metadata={"description": "L3 by certificate: months of related "
                                                "work since the L4 certificate's issue"})
    sector = fields.Str(required=True, validate=validate.OneOf(SECTORS))
    invoice_title = Text(200, load_default=None)


class ContactChange(Schema):
    mobile = fields.Str(required=True, validate=validate.Length(max=20))
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class StatusChange(Schema):
    from_status = fields.Str(allow_none=True)
    to_status = fields.Str(metadata={"description": "equal to from_status for a note that moved nothing"})
    cause = fields.Str(metadata={"description": "the event type, or who acted"})
    note = fields.Str(allow_none=True)
    at = fields.AwareDateTime()


class Enrollment(Schema):
    enrollment_id = fields.UUID()
    learner_id = fields.UUID()
    level = fields.Str()
    status = fields.Str()
    full_name = fields.Str()
    id_number_masked = fields.Str()
    mobile_masked = fields.Str()
    base_code = fields.Str()
    sector = fields.Str()
    submitted_at = fields.AwareDateTime()
    order_id = fields.UUID(allow_none=True)
    amount_due_fen = fields.Int(allow_none=True)
    paid_at = fields.AwareDateTime(allow_none=True)
    account_valid_until = fields.Date(allow_none=True)
    exam_attempts = fields.Int()
    exam_score = fields.Str(allow_none=True)
    certificate_number = fields.Str(allow_none=True)
    certificate_serial = fields.Int(allow_none=True)
    certificate_status = fields.Str(allow_none=True, metadata={"description": "valid or revoked"})
    history = fields.List(fields.Nested(StatusChange))


EnrollmentList = page_of(Enrollment, "EnrollmentList")


class EnrollmentQuery(PageQuery):
    status = fields.Str(validate=validate.Length(max=32))
    level = fields.Str(validate=validate.OneOf(LEVELS))


class RowResult(Schema):
    row = fields.Int(metadata={"description": "the row as a spreadsheet numbers it (header = 1)"})
    outcome = fields.Str(metadata={"description": "created or failed"})
    enrollment_id = fields.UUID(allow_none=True)
    problem = fields.Dict(allow_none=True, metadata={
        "description": "why the row failed: a problem document with `errors` (field -> what is "
                       "wrong) or `rules` (eligibility rules that refused)"})


class BulkUpload(Schema):
    upload_id = fields.UUID()
    base_code = fields.Str()
    content_sha256 = fields.Str()
    encoding = fields.Str(metadata={"description": "utf-8, utf-8-sig or gbk, as detected"})
    rows = fields.Int()
    created = fields.Int()
    failed = fields.Int()
    state = fields.Str()
    uploaded_at = fields.AwareDateTime()
    completed_at = fields.AwareDateTime(allow_none=True)
    replayed = fields.Bool(metadata={"description": "true when this file was uploaded before: "
                                     "the first result, nothing created again"})
    results = fields.List(fields.Nested(RowResult))
