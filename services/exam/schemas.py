"""Exam's API payloads. Nothing here ever carries a correct answer or a rubric to a candidate."""
from marshmallow import Schema, fields, validate

from shared.web.pagination import PageQuery, page_of
from shared.web.fields import JsonSize, Month, ProgramDate, ProgramMoment

from .domain.paper import AREAS, TYPES

LEVELS = ("L4", "L3", "both")
QUESTION_STATUSES = ("draft", "active", "rejected", "superseded", "retired")


class NewSitting(Schema):
    starts_at = ProgramMoment(required=True)
    level = fields.Str(required=True, validate=validate.OneOf(LEVELS))
    capacity = fields.Int(required=True, strict=True, validate=validate.Range(1, 100000))
    registration_closes_at = ProgramMoment(load_default=None)


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
    change_reason = fields.Str(allow_none=True)
    changed_at = fields.AwareDateTime(allow_none=True)


class SittingMove(Schema):
    starts_at = ProgramMoment(required=True)
    registration_closes_at = ProgramMoment(load_default=None)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class SittingCancel(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class SittingQuery(PageQuery):
    level = fields.Str(validate=validate.OneOf(("L4", "L3")))


SittingList = page_of(Sitting, "SittingList")


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
    registration_closes_at = fields.AwareDateTime()


RegistrationList = page_of(Registration)


class Option(Schema):
    key = fields.Str()
    text = fields.Str()


class CandidateQuestion(Schema):
    number = fields.Int(metadata={"description": "the question's handle on this paper (answers are saved "
                                                "by it); the bank's question id is never shown"})
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
    answer = fields.Raw(required=True, allow_none=True, validate=JsonSize(20_000))


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


class MarkingQuery(PageQuery):
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


class MarkingQueue(page_of(MarkingItem)):
    left_per_sitting = fields.Dict(keys=fields.Str(), values=fields.Int())


class Mark(Schema):
    points = fields.Decimal(required=True, places=1, validate=validate.Range(0, 100))
    comment = fields.Str(load_default="", validate=validate.Length(max=2000))


# -- the question bank (examiners only: these carry answers and rubrics) ----------

class BankOption(Schema):
    key = fields.Str(required=True, validate=validate.Length(min=1, max=2))
    text = fields.Str(required=True, validate=validate.Length(min=1, max=1000))


class QuestionEdit(Schema):
    area = fields.Str(validate=validate.OneOf(AREAS))
    prompt = fields.Str(validate=validate.Length(min=1, max=4000))
    options = fields.List(fields.Nested(BankOption), validate=validate.Length(max=10))
    answer = fields.Raw(allow_none=True, validate=JsonSize(4000))
    rubric = fields.Str(allow_none=True, validate=validate.Length(max=4000))


class NewQuestion(QuestionEdit):
    type = fields.Str(required=True, validate=validate.OneOf(TYPES))
    area = fields.Str(required=True, validate=validate.OneOf(AREAS))
    prompt = fields.Str(required=True, validate=validate.Length(min=1, max=4000))
    options = fields.List(fields.Nested(BankOption), load_default=list, validate=validate.Length(max=10))
    answer = fields.Raw(load_default=None, allow_none=True, validate=JsonSize(4000))
    rubric = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class Review(Schema):
    approve = fields.Bool(required=True)
    comment = fields.Str(load_default="", validate=validate.Length(max=2000))


class RetirementRequested(Schema):
    reason = fields.Str()
    requested_by = fields.Str()
    requested_at = fields.AwareDateTime()


class RetirementRequest(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class BankQuestion(Schema):
    question_id = fields.Str()
    revision = fields.Int()
    type = fields.Str()
    area = fields.Str()
    prompt = fields.Str()
    options = fields.List(fields.Nested(Option))
    answer = fields.Raw(allow_none=True)
    rubric = fields.Str(allow_none=True)
    status = fields.Str()
    written_by = fields.Str(allow_none=True)
    written_at = fields.AwareDateTime(allow_none=True)
    reviewed_by = fields.Str(allow_none=True)
    review_comment = fields.Str(allow_none=True)
    reviewed_at = fields.AwareDateTime(allow_none=True)
    retirement_requested = fields.Nested(RetirementRequested, allow_none=True, metadata={
        "description": "a retirement waiting for a second examiner (the question is still drawn)"})


class QuestionQuery(PageQuery):
    status = fields.Str(validate=validate.OneOf(QUESTION_STATUSES))
    type = fields.Str(validate=validate.OneOf(TYPES))
    area = fields.Str(validate=validate.OneOf(AREAS))


QuestionList = page_of(BankQuestion, "QuestionList")


class QuestionRevisions(Schema):
    question_id = fields.Str()
    revisions = fields.List(fields.Nested(BankQuestion))


class PaidRetake(Schema):
    enrollment_id = fields.UUID()
    attempt_number = fields.Int()
    reason = fields.Str(allow_none=True)
    required_at = fields.AwareDateTime(allow_none=True)
    paid = fields.Bool()
    order_id = fields.UUID(allow_none=True)
    paid_at = fields.AwareDateTime(allow_none=True)


# -- the exam calendar a year ahead ----------------------------------------------------

class CalendarFlag(Schema):
    day = fields.Str(metadata={"description": "YYYY-MM-DD"})
    kind = fields.Str(metadata={"description": "statutory_holiday, working_weekend (调休) or "
                                "holidays_unknown (a year the holiday calendar does not cover)"})
    detail = fields.Str()


class CalendarMonth(Schema):
    month = fields.Str(metadata={"description": "YYYY-MM"})
    saturday = fields.Date(metadata={"description": "the sitting weekend: Saturday and Sunday, "
                                     "09:00-10:30 and 14:00-15:30 Asia/Shanghai"})
    sunday = fields.Date()
    rule_saturday = fields.Date(metadata={"description": "where the last-full-weekend rule put it"})
    flags = fields.List(fields.Nested(CalendarFlag),
                        metadata={"description": "why the administrator must decide (empty: none)"})
    decision = fields.Str(allow_none=True, metadata={
        "description": "rule, confirmed or moved once published; null in a proposal"})
    published = fields.Bool()
    reason = fields.Str(allow_none=True)
    published_by = fields.Str(allow_none=True)
    published_at = fields.AwareDateTime(allow_none=True)


CalendarMonths = page_of(CalendarMonth, "CalendarMonths")


class CalendarDecision(Schema):
    month = Month(required=True)
    action = fields.Str(required=True, validate=validate.OneOf(("confirm", "move")))
    saturday = ProgramDate(load_default=None, metadata={"description": "move: the Saturday it moves to"})
    reason = fields.Str(load_default=None, validate=validate.Length(min=1, max=500))


class CalendarPublication(Schema):
    """Publish the twelve months after this one: a decision for every flagged month."""
    decisions = fields.List(fields.Nested(CalendarDecision), load_default=list,
                            validate=validate.Length(max=12))


class PublishedCalendar(Schema):
    published = fields.Int(metadata={"description": "months published by this request (0: all were)"})
    months = fields.List(fields.Nested(CalendarMonth), metadata={"description": "the year ahead"})
