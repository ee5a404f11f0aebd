"""The envelope every event travels in (architecture.md, "Events").

`new_event` validates what a producer emits; `decode` validates what a consumer
receives and raises InvalidEvent with the reason, which the consumer turns into
a dead letter.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .registry import Contract, lookup


class InvalidEvent(Exception):
    """The message is not a valid event of a known contract; never retried."""


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
    producer = fields.Str(required=True)
    correlation_id = fields.UUID(required=True)
    causation_id = fields.UUID(required=False, allow_none=True, load_default=None)
    data = fields.Dict(required=True)


_envelope = _EnvelopeSchema()


def new_event(schema_cls, data: dict, *, correlation_id: uuid.UUID,
              causation_id: uuid.UUID | None = None, occurred_at: datetime | None = None,
              event_id: uuid.UUID | None = None) -> Event:
    """Build a validated event of the contract declared on `schema_cls`."""
    found: Contract = schema_cls.contract
    dumped = found.schema.dump(data)
    errors = found.schema.validate(dumped)
    if errors:
        raise ValueError(f"{found.type} v{found.version} would be emitted invalid: {errors}")
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
    return json.dumps({
        "id": str(event.id),
        "type": event.type,
        "version": event.version,
        "occurred_at": event.occurred_at.astimezone(timezone.utc).isoformat(),
        "producer": event.producer,
        "correlation_id": str(event.correlation_id),
        "causation_id": str(event.causation_id) if event.causation_id else None,
        "data": event.data,
    }, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(body: bytes | str) -> Event:
    """Parse and validate a received event; data is loaded into Python types."""
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidEvent("body is not a JSON object")
    try:
        envelope = _envelope.load(raw)
    except ValidationError as exc:
        raise InvalidEvent(f"envelope: {exc.messages}") from None
    found = lookup(envelope["type"], envelope["version"])
    if found is None:
        raise InvalidEvent(f"unknown contract {envelope['type']} v{envelope['version']}")
    try:
        data = found.schema.load(envelope["data"])
    except ValidationError as exc:
        raise InvalidEvent(f"{found.type} v{found.version} data: {exc.messages}") from None
    return Event(data=data, **{k: v for k, v in envelope.items() if k != "data"})


def peek_id(body: bytes | str) -> str | None:
    """The event id of a body, if it has one, for logging an invalid message."""
    try:
        value = json.loads(body).get("id")
        return str(value) if value else None
    except Exception:  # the body may be anything at all
        return None
