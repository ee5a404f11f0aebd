"""Bounded input fields: what a date, a count or a text of this program can mean.

Every value a request carries is bounded in its schema (tests/unit/test_input_bounds.py
walks them all): an integer past 2^63 overflowed the database, a date of 9999-12-31
was accepted and then broke each later computation with it. The program's calendar
runs from 2000 to 2099; dates outside it are refused with the range named.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from marshmallow import ValidationError, fields, validate

from .screening import text_problem

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
FIRST_MOMENT = datetime.combine(FIRST_DAY, time.min, tzinfo=timezone.utc)
LAST_MOMENT = datetime.combine(LAST_DAY, time.max, tzinfo=timezone.utc)
MAX_OFFSET = 10_000_000  # further than any list of this program reaches
_DAYS = f"between {FIRST_DAY} and {LAST_DAY}"


def ProgramDate(**kwargs) -> fields.Date:
    return fields.Date(validate=validate.Range(FIRST_DAY, LAST_DAY, error=f"must be a date {_DAYS}"),
                       **kwargs)


def ProgramMoment(**kwargs) -> fields.AwareDateTime:
    return fields.AwareDateTime(validate=validate.Range(FIRST_MOMENT, LAST_MOMENT,
                                                        error=f"must be an instant {_DAYS}"), **kwargs)


def Offset(**kwargs) -> fields.Integer:
    return fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET), **kwargs)


class Month(fields.String):
    """A calendar month, YYYY-MM, within the program's years."""

    def __init__(self, **kwargs):
        super().__init__(validate=[validate.Length(equal=7),
                                   validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$",
                                                   error="must be a month, YYYY-MM")],
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) == 7 and text[:4].isdigit() and not FIRST_DAY.year <= int(text[:4]) <= LAST_DAY.year:
            raise ValidationError(f"must be a month between {FIRST_DAY:%Y-%m} and {LAST_DAY:%Y-%m}")
        return text


class Text(fields.String):
    """Text without NUL or lone surrogates (a CSV cell reaches a schema without the
    JSON screen), at most `max` characters."""

    def __init__(self, max: int, min: int = 0, **kwargs):  # noqa: A002 - the Length words
        validators = [validate.Length(min=min, max=max)] + list(kwargs.pop("validate", []) or [])
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        reason = text_problem(text)
        if reason:
            raise ValidationError(reason)
        return text


class JsonSize(validate.Validator):
    """A free-form JSON value (an answer: text, a list of keys) of at most `max` characters."""

    def __init__(self, max: int):  # noqa: A002
        self.max = max

    def __call__(self, value):
        import json
        if len(json.dumps(value, ensure_ascii=False)) > self.max:
            raise ValidationError(f"must be at most {self.max} characters as JSON")
        return value
