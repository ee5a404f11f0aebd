"""The envelope every event travels in (architecture.md, "Events").

`new_event` validates what a producer emits (marshmallow, the contracts' one
definition); `decode` validates what a consumer receives — with the msgspec
decoders compiled from those same contracts (shared/contracts/compiled.py) — and
raises InvalidEvent with the reason, which the consumer turns into a dead letter.
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import msgspec
from marshmallow import EXCLUDE, Schema, fields, validate

from .compiled import compiled, decode_envelope
from .registry import Contract, lookup


# Full validation of what a producer emits costs a decode per event; the tests turn
# it on (CEA_STRICT_EVENTS=1), production checks presence.
STRICT = os.environ.get("CEA_STRICT_EVENTS", "") == "1"


class InvalidEvent(Exception):
    """The message is not a valid event of a known contract; never retried.

    `problem` names what was wrong, for metrics: not-json, not-an-object, envelope,
    unknown-contract, data, or (said by a consumer) no-handler."""

    def __init__(self, message: str, problem: str = "invalid"):
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class Event:
    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    producer: str
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    data: dict[str, Any]

    @property
    def contract(self) -> Contract:
        return lookup(self.type, self.version)


class _EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    type = fields.Str(required=True, validate=validate.Length(min=3))
    version = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.Str(required=True, validate=validate.Length(min=1))
    correlation_id = fields.UUID(required=True)
    causation_id = fields.UUID(required=False, allow_none=True, load_default=None)
    data = fields.Dict(required=True)


_envelope = _EnvelopeSchema()


def new_event(schema_cls, data: dict, *, correlation_id: uuid.UUID,
              causation_id: uuid.UUID | None = None, occurred_at: datetime | None = None,
              event_id: uuid.UUID | None = None) -> Event:
    """Build an event of the contract declared on `schema_cls`: its declared fields
    of `data`, in their wire form (UUIDs, instants, dates and decimals as strings)."""
    found: Contract = schema_cls.contract
    dumped = msgspec.to_builtins({name: data[name] for name in found.schema.fields if name in data})
    if STRICT:  # the consumers' own check, on exactly what they will receive
        try:
            compiled(found).load(msgspec.json.encode(dumped))
        except msgspec.ValidationError as exc:
            raise ValueError(f"{found.type} v{found.version} would be emitted invalid: {exc}") from None
    else:  # the cheap check; consumers validate everything anyway
        missing = [k for k in found.required if dumped.get(k) is None]
        if missing:
            raise ValueError(f"{found.type} v{found.version} would be emitted without {missing}")
    return Event(
        id=event_id or uuid.uuid4(),
        type=found.type,
        version=found.version,
        occurred_at=occurred_at or datetime.now(timezone.utc),
        producer=found.producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=dumped,
    )


def encode(event: Event) -> bytes:
    """The wire form: JSON, data as the contract dumps it."""
    return msgspec.json.encode({
        "id": str(event.id),
        "type": event.type,
        "version": event.version,
        "occurred_at": event.occurred_at.astimezone(timezone.utc).isoformat(),
        "producer": event.producer,
        "correlation_id": str(event.correlation_id),
        "causation_id": str(event.causation_id) if event.causation_id else None,
        "data": event.data,
    })


def decode(body: bytes | str) -> Event:
    """Parse and validate a received event; data is loaded into Python types."""
    try:
        envelope = decode_envelope(body)
    except msgspec.ValidationError as exc:
        problem = "not-an-object" if str(exc).startswith("Expected `object`, got") else "envelope"
        raise InvalidEvent(f"envelope: {exc}" if problem == "envelope" else "body is not a JSON object",
                           problem) from None
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"body is not JSON: {exc}", "not-json") from None
    found = lookup(envelope.type, envelope.version)
    if found is None:
        raise InvalidEvent(f"unknown contract {envelope.type} v{envelope.version}", "unknown-contract")
    try:
        data = compiled(found).load(envelope.data)
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"{found.type} v{found.version} data: {exc}", "data") from None
    return Event(id=envelope.id, type=envelope.type, version=envelope.version,
                 occurred_at=envelope.occurred_at, producer=envelope.producer,
                 correlation_id=envelope.correlation_id, causation_id=envelope.causation_id, data=data)


def envelope_errors(raw: dict) -> dict:
    """What the documented envelope schema says of `raw` (for the catalog and tests)."""
    return _envelope.validate(raw)


def peek_type(body: bytes | str) -> str | None:
    """The type an invalid message says it has, if it says one (a metric label:
    only a known contract's type, so that junk cannot make up label values)."""
    try:
        value = json.loads(body).get("type")
    except Exception:  # the body may be anything at all
        return None
    return value if isinstance(value, str) and value in _known_types() else None


def _known_types() -> set[str]:
    from .registry import REGISTRY
    return {contract.type for contract in REGISTRY.values()}


def peek_id(body: bytes | str) -> str | None:
    """The event id of a body, if it has one, for logging an invalid message."""
    try:
        value = json.loads(body).get("id")
        return str(value) if value else None
    except Exception:  # the body may be anything at all
        return None
