"""The compiled decoders (msgspec) and the contracts' marshmallow schemas give the
same verdict, and the same values, on every contract's valid and invalid examples."""
import json
import uuid
from datetime import datetime, timezone

import msgspec
import pytest
from marshmallow import ValidationError, fields, validate

from shared.contracts import REGISTRY
from shared.contracts.compiled import compiled

CONTRACTS = sorted(REGISTRY.values(), key=lambda c: c.key)


def _range(field):
    return next((v for v in field.validators if isinstance(v, validate.Range)), None)


def _length(field):
    return next((v for v in field.validators if isinstance(v, validate.Length)), None)


def _choices(field):
    return next((v.choices for v in field.validators if isinstance(v, validate.OneOf)), None)


def valid_value(field):
    if isinstance(field, fields.UUID):
        return str(uuid.uuid4())
    if isinstance(field, fields.AwareDateTime):
        return datetime(2026, 11, 29, 9, 30, 15, 123456, tzinfo=timezone.utc).isoformat()
    if isinstance(field, fields.Date):
        return "2026-11-29"
    if isinstance(field, fields.Decimal):
        return "82.5"
    if isinstance(field, fields.Bool):
        return True
    if isinstance(field, fields.Int):
        r = _range(field)
        return max(r.min or 0, 1) if r else 7
    if isinstance(field, fields.Str):
        choices = _choices(field)
        return list(choices)[0] if choices else "张三—碳排放管理员"
    if isinstance(field, fields.Dict):
        return {"foundation": 30} if field.value_field is not None else {"any": "thing"}
    raise AssertionError(f"no example for {type(field).__name__}")


def invalid_values(field):
    """Values of the wrong kind or outside the field's bounds."""
    wrong = {fields.UUID: ["not-a-uuid", 12], fields.AwareDateTime: ["2026-11-29T09:30:00", "yesterday", 5],
             fields.Date: ["2026-13-01", 20261129], fields.Decimal: ["lots", "NaN", [1]],
             fields.Bool: ["yes"], fields.Int: ["5", 5.5], fields.Str: [5], fields.Dict: [[], "x"]}
    values = next(v for kind, v in wrong.items() if isinstance(field, kind))
    if not field.allow_none:
        values = values + [None]
    r = _range(field)
    if r is not None and r.min is not None:
        values.append(r.min - 1 if isinstance(field, fields.Int) else str(r.min - 1))
    if r is not None and r.max is not None:
        values.append(r.max + 1 if isinstance(field, fields.Int) else str(r.max + 1))
    length = _length(field)
    if length is not None and length.min:
        values.append("")
    if _choices(field):
        values.append("ZZ")
    if isinstance(field, fields.Dict) and field.value_field is not None:
        values += [{"foundation": -1}, {"foundation": "30"}]
    return values


def example(contract) -> dict:
    return {name: valid_value(f) for name, f in contract.schema.fields.items()}


def verdicts(contract, data):
    try:
        by_schema = contract.schema.load(data)
    except ValidationError:
        by_schema = "invalid"
    try:
        by_compiled = compiled(contract).load(json.dumps(data).encode())
    except msgspec.ValidationError:
        by_compiled = "invalid"
    return by_schema, by_compiled


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: f"{c.type}-v{c.version}")
def test_valid_examples_load_to_the_same_values(contract):
    data = example(contract)
    for variant in (data, {**data, "a_field_from_the_future": 1},
                    {k: v for k, v in data.items() if contract.schema.fields[k].required},
                    {k: (None if contract.schema.fields[k].allow_none else v) for k, v in data.items()},
                    {**data, **{k: "82.55" for k, f in contract.schema.fields.items()
                                if isinstance(f, fields.Decimal)}}):
        by_schema, by_compiled = verdicts(contract, variant)
        assert by_schema != "invalid", variant
        assert by_compiled == by_schema


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: f"{c.type}-v{c.version}")
def test_invalid_examples_are_refused_by_both(contract):
    data = example(contract)
    checked = 0
    for name, field in contract.schema.fields.items():
        cases = [{k: v for k, v in data.items() if k != name}] if field.required else []
        cases += [{**data, name: bad} for bad in invalid_values(field)]
        for case in cases:
            by_schema, by_compiled = verdicts(contract, case)
            assert by_schema == "invalid" and by_compiled == "invalid", (name, case.get(name, "<absent>"))
            checked += 1
    assert checked >= 2 * len(contract.schema.fields)
