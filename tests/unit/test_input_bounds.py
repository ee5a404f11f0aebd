"""Every value a request can carry is bounded in its schema (architecture.md, "Faults
and edges"): integers, decimals and dates by a range, text and lists by a length.
An unbounded integer reached SQLite as 2^63 and a date of 9999-12-31 broke every
later progress report: this walks every operation of every service."""
import importlib

import pytest
from marshmallow import fields, validate

from shared.web.api import Api
from shared.web.fields import JsonSize

SERVICES = {"enrollment": "EnrollmentService", "billing": "BillingService", "learning": "LearningService",
            "exam": "ExamService", "certificate": "CertificateService"}


def _operations():
    for package, name in SERVICES.items():
        cls = getattr(importlib.import_module(f"services.{package}.service"), name)
        for attr in dir(cls):
            for entry in getattr(getattr(cls, attr), "nameko_entrypoints", ()):
                if isinstance(entry, Api):
                    for role, schema in (("request", entry.request_schema), ("query", entry.query_schema)):
                        if schema is not None:
                            yield f"{package}.{attr}.{role}", schema


def _ranges(field):
    return [v for v in field.validators if isinstance(v, validate.Range)]


def _bounded(field) -> bool:
    validators = field.validators
    if isinstance(field, (fields.Boolean, fields.UUID, fields.Constant)):
        return True
    if any(isinstance(v, validate.OneOf) for v in validators):
        return True
    if isinstance(field, (fields.Integer, fields.Decimal, fields.Float, fields.Date, fields.DateTime)):
        return any(r.min is not None and r.max is not None for r in _ranges(field))
    if isinstance(field, (fields.String, fields.List)):
        return any(isinstance(v, validate.Length) and (v.max is not None or v.equal is not None)
                   for v in validators)
    if isinstance(field, fields.Dict):
        return _bounded(field.key_field) and _bounded(field.value_field) and not list(
            _unbounded_inner(field.value_field))
    if isinstance(field, fields.Raw) and type(field) is fields.Raw:
        return any(isinstance(v, JsonSize) for v in validators)
    return False


def _unbounded_inner(field):
    if isinstance(field, fields.List) and not _bounded(field.inner):
        yield "[]"


def _unbounded(schema, prefix=""):
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        where = prefix + name
        if isinstance(field, fields.Nested):
            yield from _unbounded(field.schema, where + ".")
            continue
        if not _bounded(field):
            yield where
        if isinstance(field, fields.List):
            inner = field.inner
            if isinstance(inner, fields.Nested):
                yield from _unbounded(inner.schema, where + "[].")
            elif not _bounded(inner):
                yield where + "[]"


OPERATIONS = dict(_operations())


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_input_field_is_bounded(operation):
    assert list(_unbounded(OPERATIONS[operation])) == []
