"""The envelope every event travels in (architecture.md, "Events").

`new_event` validates what a producer emits; `decode` validates what a consumer
receives and raises InvalidEvent with the reason, which the consumer turns into
a dead letter.
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .registry import Contract, lookup


# Full validation of what a producer emits costs a second marshmallow pass per
# event; the tests turn it on (CEA_STRICT_EVENTS=1), production checks presence.
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
    """Build a validated event of the contract declared on `schema_cls`."""
    found: Contract = schema_cls.contract
    dumped = found.schema.dump(data)
    if STRICT:
        errors = found.schema.validate(dumped)
    else:  # the cheap check; consumers validate everything anyway
        errors = {k: "missing" for k in found.required if dumped.get(k) is None}
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
        raise InvalidEvent(f"body is not JSON: {exc}", "not-json") from None
    if not isinstance(raw, dict):
        raise InvalidEvent("body is not a JSON object", "not-an-object")
    envelope = _load_envelope(raw)
    found = lookup(envelope["type"], envelope["version"])
    if found is None:
        raise InvalidEvent(f"unknown contract {envelope['type']} v{envelope['version']}", "unknown-contract")
    try:
        data = found.schema.load(raw["data"])
    except ValidationError as exc:
        raise InvalidEvent(f"{found.type} v{found.version} data: {exc.messages}", "data") from None
    return Event(data=data, **envelope)


def _load_envelope(raw: dict) -> dict:
    """The envelope, checked field by field as _EnvelopeSchema describes it.

    Hand-written because it runs for every message a service takes (marshmallow
    costs ~40 us here); tests/unit/test_contracts.py holds the two to the same
    verdicts."""
    errors: dict[str, str] = {}

    def as_uuid(name, optional=False):
        value = raw.get(name)
        if value is None and optional:
            return None
        try:
            return uuid.UUID(value) if isinstance(value, str) else _bad(name, "not a UUID")
        except ValueError:
            return _bad(name, "not a UUID")

    def _bad(name, message):
        errors[name] = message
        return None

    out = {"id": as_uuid("id"), "correlation_id": as_uuid("correlation_id"),
           "causation_id": as_uuid("causation_id", optional=True)}
    for name in ("type", "producer"):
        value = raw.get(name)
        out[name] = value if isinstance(value, str) and value else _bad(name, "not a non-empty string")
    if out["type"] is not None and len(out["type"]) < 3:
        _bad("type", "too short")
    version = raw.get("version")
    ok = isinstance(version, int) and not isinstance(version, bool) and version >= 1
    out["version"] = version if ok else _bad("version", "not an integer >= 1")
    occurred = raw.get("occurred_at")
    try:
        moment = datetime.fromisoformat(occurred) if isinstance(occurred, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        _bad("occurred_at", "not an ISO 8601 instant with a timezone")
    out["occurred_at"] = moment
    if not isinstance(raw.get("data"), dict):
        _bad("data", "not an object")
    if errors:
        raise InvalidEvent(f"envelope: {errors}", "envelope")
    return out


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
