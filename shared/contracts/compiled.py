"""Received events decoded and validated by msgspec, compiled from the contracts.

The marshmallow schemas stay the one definition of every contract (the catalog,
the producers' checks and the HTTP documents read them). A consumer takes every
message through validation, and marshmallow costs ~100 µs an event there; msgspec
does the same checks in a few µs. So each contract's schema is translated once,
at import, into a msgspec Struct with the same types, bounds and choices, and
tests/unit/test_compiled_contracts.py holds the two to the same verdict on every
contract's valid and invalid examples.

What the translation knows: Str (Length, OneOf), Int (Range; contracts' integers
are strict), Decimal (Range, places), Bool, UUID, AwareDateTime, Date, Dict (of
Str to Int), optional fields (None when absent). A contract using anything else
fails at import: translate it here first.
"""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Annotated, Any, Literal

import msgspec
from marshmallow import fields, validate

from .registry import REGISTRY, Contract


class Untranslatable(TypeError):
    pass


def _bounds(field) -> dict:
    meta = {}
    for v in field.validators:
        if isinstance(v, validate.Range):
            if v.min is not None:
                meta["ge" if v.min_inclusive else "gt"] = v.min
            if v.max is not None:
                meta["le" if v.max_inclusive else "lt"] = v.max
        elif isinstance(v, validate.Length):
            if v.min is not None:
                meta["min_length"] = v.min
            if v.max is not None:
                meta["max_length"] = v.max
        elif not isinstance(v, validate.OneOf):
            raise Untranslatable(f"validator {type(v).__name__}")
    return meta


def _choices(field):
    for v in field.validators:
        if isinstance(v, validate.OneOf):
            return tuple(v.choices)
    return None


def _type_of(name: str, field) -> Any:
    meta = _bounds(field)
    if isinstance(field, fields.UUID):
        kind = uuid.UUID
    elif isinstance(field, fields.AwareDateTime):
        kind, meta = dt.datetime, {**meta, "tz": True}
    elif isinstance(field, fields.Date):
        kind = dt.date
    elif isinstance(field, fields.Decimal):
        return decimal.Decimal  # msgspec bounds no Decimal: CompiledContract checks them
    elif isinstance(field, fields.Bool):
        kind = bool
    elif isinstance(field, fields.Int):
        if not field.strict:
            raise Untranslatable(f"{name}: an event's integer is strict (fields.Int(strict=True))")
        kind = int
    elif isinstance(field, fields.Str):
        choices = _choices(field)
        kind = Literal[choices] if choices else str
    elif isinstance(field, fields.Dict):
        if field.key_field is None and field.value_field is None:
            kind = dict[str, Any]
        else:
            kind = dict[_type_of(name + ".key", field.key_field),
                        _type_of(name + ".value", field.value_field)]
    else:
        raise Untranslatable(f"{name}: {type(field).__name__}")
    return Annotated[kind, msgspec.Meta(**meta)] if meta else kind


def struct_of(contract: Contract) -> type[msgspec.Struct]:
    required, optional = [], []
    for name, field in contract.schema.fields.items():
        key = field.data_key or name
        kind = _type_of(f"{contract.type}.{name}", field)
        if field.allow_none:
            kind = kind | None
        if field.required:
            required.append((key, kind))
        else:
            optional.append((key, kind, None))
    return msgspec.defstruct(f"{contract.type}-v{contract.version}", required + optional)


class Envelope(msgspec.Struct):
    id: uuid.UUID
    type: Annotated[str, msgspec.Meta(min_length=3)]
    version: Annotated[int, msgspec.Meta(ge=1)]
    occurred_at: Annotated[dt.datetime, msgspec.Meta(tz=True)]
    producer: Annotated[str, msgspec.Meta(min_length=1)]
    correlation_id: uuid.UUID
    data: msgspec.Raw
    causation_id: uuid.UUID | None = None


class CompiledContract:
    """The decoder of one contract's data, plus what msgspec does not do for
    decimals: finite, within their Range, rounded to their places (as marshmallow
    loads them)."""

    def __init__(self, contract: Contract):
        self.decoder = msgspec.json.Decoder(struct_of(contract))
        # marshmallow keeps `places` as the quantum itself (Decimal("0.1")), and rounds
        # with the field's rounding (default: the context's, half even).
        self.decimals = {name: (f.places, _bounds(f)) for name, f in contract.schema.fields.items()
                         if isinstance(f, fields.Decimal)}

    def load(self, raw: bytes) -> dict:
        data = msgspec.structs.asdict(self.decoder.decode(raw))
        for name, (places, bounds) in self.decimals.items():
            value = data.get(name)
            if value is None:
                continue
            if not value.is_finite():
                raise msgspec.ValidationError(f"{name}: not a finite number")
            if places is not None:
                value = data[name] = value.quantize(places, rounding=decimal.ROUND_HALF_EVEN)
            if not all(_OPERATORS[op](value, limit) for op, limit in bounds.items()):
                raise msgspec.ValidationError(f"{name}: out of range {bounds}")
        return data


_OPERATORS = {"ge": lambda v, b: v >= b, "gt": lambda v, b: v > b, "le": lambda v, b: v <= b,
              "lt": lambda v, b: v < b}


_ENVELOPE = msgspec.json.Decoder(Envelope)


def decode_envelope(body: bytes | str) -> Envelope:
    """The envelope, checked; its data left raw for the contract's own decoder."""
    envelope = _ENVELOPE.decode(body)
    if bytes(envelope.data).lstrip()[:1] != b"{":
        raise msgspec.ValidationError("Expected `object` - at `$.data`")
    return envelope

_compiled: dict[tuple[str, int], CompiledContract] = {}


def compiled(contract: Contract) -> CompiledContract:
    found = _compiled.get(contract.key)
    if found is None:
        found = _compiled[contract.key] = CompiledContract(contract)
    return found


def compile_all() -> None:
    """Translate every registered contract now (an untranslatable one fails at start)."""
    for contract in REGISTRY.values():
        compiled(contract)
