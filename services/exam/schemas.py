"""Exam's API payloads. Nothing here ever carries a correct answer or a rubric to a candidate."""
from marshmallow import Schema, fields, validate

LEVELS = ("L4", "L3", "both")


class NewSitting(Schema):
    starts_at = fields.AwareDateTime(required=True)
    level = fields.Str(required=True, validate=validate.OneOf(LEVELS))
    capacity = fields.Int(required=True, strict=True, validate=validate.Range(1, 100000))
    registration_closes_at = fields.AwareDateTime(load_default=None)


class Sitting(Schema):
    sitting_id = fields.UUID()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    level = fields.Str()
    capacity = fields.Int()
    seats_left = fields.Int()
    registration_closes_at = fields.AwareDateTime()
    origin = fields.Str()
    status = fields.Str()


class SittingQuery(Schema):
    level = fields.Str(validate=validate.OneOf(("L4", "L3")))


class SittingList(Schema):
    items = fields.List(fields.Nested(Sitting))


class NewRegistration(Schema):
    enrollment_id = fields.UUID(required=True)
    sitting_id = fields.UUID(required=True)


class Registration(Schema):
    registration_id = fields.UUID()
    enrollment_id = fields.UUID()
    sitting_id = fields.UUID()
    attempt_number = fields.Int()
    status = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()


class Option(Schema):
    key = fields.Str()
    text = fields.Str()


class CandidateQuestion(Schema):
    number = fields.Int()
    question_id = fields.Str()
    type = fields.Str()
    area = fields.Str()
    prompt = fields.Str()
    options = fields.List(fields.Nested(Option))
    points = fields.Decimal(as_string=True)


class CandidatePaper(Schema):
    paper_id = fields.UUID()
    status = fields.Str()
    closes_at = fields.AwareDateTime()
    questions = fields.List(fields.Nested(CandidateQuestion))
    answers = fields.Dict(keys=fields.Str(), values=fields.Raw())


class AnswerBody(Schema):
    answer = fields.Raw(required=True, allow_none=True)


class Saved(Schema):
    number = fields.Int()
    answer = fields.Raw()
    saved_at = fields.AwareDateTime()


class Result(Schema):
    registration_id = fields.UUID()
    final = fields.Bool()
    score = fields.Decimal(as_string=True, allow_none=True)
    passed = fields.Bool(allow_none=True)
    attempt_number = fields.Int()


class MarkingQuery(Schema):
    sitting_id = fields.UUID()


class MarkingItem(Schema):
    paper_id = fields.UUID()
    number = fields.Int()
    sitting_id = fields.UUID()
    question_id = fields.Str()
    prompt = fields.Str()
    rubric = fields.Str()
    answer_text = fields.Str()
    max_points = fields.Decimal(as_string=True)


class MarkingQueue(Schema):
    items = fields.List(fields.Nested(MarkingItem))
    left_per_sitting = fields.Dict(keys=fields.Str(), values=fields.Int())


class Mark(Schema):
    points = fields.Decimal(required=True, places=1, validate=validate.Range(0, 100))
    comment = fields.Str(load_default="", validate=validate.Length(max=2000))
