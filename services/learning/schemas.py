"""Learning's API payloads."""
from marshmallow import Schema, fields, validate


class StudyReport(Schema):
    session_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    course_code = fields.Str(required=True, validate=validate.Length(min=1, max=10))
    started_at = fields.AwareDateTime(required=True)
    minutes = fields.Int(required=True, strict=True, validate=validate.Range(1, 600))


class StudyResult(Schema):
    session_id = fields.Str()
    course_code = fields.Str()
    accepted_minutes = fields.Int()
    refused_minutes = fields.Int()
    refusal_reason = fields.Str(allow_none=True)
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
    class_hours_required = fields.Int()
    class_hours_completed = fields.Int()


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
    courses = fields.List(fields.Nested(CourseState))
    categories = fields.Dict(keys=fields.Str(), values=fields.Nested(CategoryState))


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
