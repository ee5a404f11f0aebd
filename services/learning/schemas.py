"""Learning's API payloads."""
from marshmallow import Schema, fields, validate

from shared.web.pagination import page_of
from shared.web.fields import ProgramDate, ProgramMoment


class StudyReport(Schema):
    session_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    course_code = fields.Str(required=True, validate=validate.Length(min=1, max=10))
    started_at = ProgramMoment(required=True)
    minutes = fields.Int(required=True, strict=True, validate=validate.Range(1, 600))


class Refusal(Schema):
    rule = fields.Str(metadata={"description": "LONGER_THAN_ELAPSED, OVERLAPPING_SESSION, IDLE or DAILY_CAP"})
    minutes = fields.Int()
    message = fields.Str()


class StudyResult(Schema):
    session_id = fields.Str()
    course_code = fields.Str()
    accepted_minutes = fields.Int()
    refused_minutes = fields.Int()
    refusal_reason = fields.Str(allow_none=True)
    refusals = fields.List(fields.Nested(Refusal), metadata={"description": "Every refused minute "
                           "with its rule (docs/program.md, \"Study\")."})
    course_minutes = fields.Int()
    course_complete = fields.Bool()
    coursework_complete = fields.Bool()


class NewLiveSession(Schema):
    course_code = fields.Str(required=True, validate=validate.Length(min=1, max=10))


class LiveSession(Schema):
    session_id = fields.UUID()
    enrollment_id = fields.UUID()
    course_code = fields.Str()
    status = fields.Str(metadata={"description": "open or ended"})
    started_at = fields.AwareDateTime()
    last_heartbeat_at = fields.AwareDateTime()
    ended_at = fields.AwareDateTime(allow_none=True)
    heartbeats = fields.Int()
    accepted_minutes = fields.Int(metadata={"description": "Minutes credited to the course so far."})
    refused_minutes = fields.Int()
    refused_by_rule = fields.Dict(keys=fields.Str(), values=fields.Int())
    refusals = fields.List(fields.Nested(Refusal), metadata={"description": "What this heartbeat "
                           "(or the end) refused, with the reasons."})
    course_minutes = fields.Int()
    course_complete = fields.Bool()
    coursework_complete = fields.Bool()


class CourseState(Schema):
    code = fields.Str()
    title_zh = fields.Str()
    title_en = fields.Str()
    category = fields.Str()
    class_hours = fields.Int()
    required = fields.Bool()
    minutes_studied = fields.Int()
    minutes_required = fields.Int()
    complete = fields.Bool()


class CategoryState(Schema):
    courses_required = fields.Int()
    courses_completed = fields.Int()
    class_hours_required = fields.Int()
    class_hours_completed = fields.Int()
    minutes_studied = fields.Int(metadata={"description": "Minutes counted toward the category's "
                                           "courses (a course's surplus not included)."})
    minutes_required = fields.Int()


class Extension(Schema):
    previous_valid_until = fields.Date()
    valid_until = fields.Date()
    reason = fields.Str()
    extended_by = fields.Str()
    extended_at = fields.AwareDateTime()


class NewExtension(Schema):
    valid_until = ProgramDate(required=True, metadata={"description": "The new last day of validity, "
                                                       "inclusive (Asia/Shanghai)."})
    reason = fields.Str(required=True, validate=validate.Length(min=3, max=500))


class Account(Schema):
    account_id = fields.UUID()
    enrollment_id = fields.UUID()
    learner_id = fields.UUID()
    level = fields.Str()
    status = fields.Str()
    valid_from = fields.Date()
    valid_until = fields.Date()
    catalog_version = fields.Str()
    coursework_complete = fields.Bool()
    completed_at = fields.AwareDateTime(allow_none=True)
    study_started_at = fields.AwareDateTime(allow_none=True)
    expired_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_reason = fields.Str(allow_none=True)
    courses = fields.List(fields.Nested(CourseState))
    categories = fields.Dict(keys=fields.Str(), values=fields.Nested(CategoryState))
    extensions = fields.List(fields.Nested(Extension))


class Course(Schema):
    code = fields.Str()
    category = fields.Str()
    class_hours = fields.Int()
    title_zh = fields.Str()
    title_en = fields.Str()


class Catalog(Schema):
    version = fields.Str()
    minutes_per_class_hour = fields.Int()
    courses = fields.List(fields.Nested(Course))
    programs = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    program_class_hours = fields.Dict(keys=fields.Str(), values=fields.Int())


class NewCourse(Schema):
    code = fields.Str(required=True, validate=[validate.Length(min=2, max=10),
                                               validate.Regexp(r"^[A-Z][A-Z0-9]{1,9}$")])
    category = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    class_hours = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=120))
    title_zh = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    title_en = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class NewCatalog(Schema):
    """A whole catalog version; checked against the curriculum's rules before it is published."""
    version = fields.Str(required=True, validate=[validate.Length(min=1, max=20),
                                                  validate.Regexp(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")])
    minutes_per_class_hour = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=120))
    courses = fields.List(fields.Nested(NewCourse), required=True, validate=validate.Length(min=1, max=200))
    programs = fields.Dict(keys=fields.Str(validate=validate.OneOf(("L4", "L3"))),
                           values=fields.List(fields.Str(validate=validate.Length(min=1, max=10)),
                                              validate=validate.Length(max=200)), required=True)
    note = fields.Str(load_default=None, validate=validate.Length(max=2000))


class CatalogVersionSummary(Schema):
    version = fields.Str()
    published_at = fields.AwareDateTime()
    published_by = fields.Str()
    note = fields.Str(allow_none=True)
    current = fields.Bool()
    program_class_hours = fields.Dict(keys=fields.Str(), values=fields.Int())


CatalogVersionList = page_of(CatalogVersionSummary, "CatalogVersionList")
