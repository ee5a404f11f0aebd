"""The event catalog (docs/events.md), generated from the contract registry and,
for where each event is emitted and handled, from the services' source (flow.py).
(Not the course catalog, which is learning's published curriculum.)

    make catalog   # = python -m shared.contracts.event_catalog > docs/events.md

tests/unit/test_contracts.py fails when the checked-in event catalog is out of date."""
from __future__ import annotations

from marshmallow import fields

from . import REGISTRY, flow
from .envelope import _EnvelopeSchema

HEADER = """# Event catalog

Generated from `shared/contracts/` and the services' source by `make catalog`
(`python -m shared.contracts.event_catalog`); do not edit. Each event names the function
that emits it and, for each consumer, `service.handler → the actions function it calls`.
Every event travels in the envelope below, on the topic exchange `cea.events` with
the event type as routing key. Consumers ignore fields they do not know; a breaking
change is a new version, handled beside the old one while both are in flight.
"""


def _type_name(field) -> str:
    names = {fields.UUID: "uuid", fields.AwareDateTime: "datetime (aware, ISO 8601)",
             fields.DateTime: "datetime", fields.Date: "date (ISO 8601)", fields.Int: "integer",
             fields.Decimal: "decimal (string)", fields.Bool: "boolean", fields.Str: "string",
             fields.Dict: "object"}
    for cls, name in names.items():
        if type(field) is cls:
            return name
    return type(field).__name__.lower()


def _rows(schema) -> list[str]:
    rows = []
    for name, field in schema.fields.items():
        required = "yes" if field.required else "no"
        description = field.metadata.get("description", "")
        rows.append(f"| `{name}` | {_type_name(field)} | {required} | {description} |")
    return rows


def render() -> str:
    out = [HEADER, "## Envelope", "", "| field | type | required | description |",
           "| --- | --- | --- | --- |"]
    envelope_docs = {
        "id": "The event's id (UUID); consumers deduplicate on it.",
        "type": "The event type, `<producer>.<what happened>`.",
        "version": "The contract version of `data`.",
        "occurred_at": "When it happened (UTC).",
        "producer": "The service that emitted it.",
        "correlation_id": "The learner's journey: the enrollment id, from enrollment to certificate.",
        "causation_id": "The event that caused this one (null for an HTTP action).",
        "data": "The payload, as the contract below describes.",
    }
    for name, field in _EnvelopeSchema().fields.items():
        required = "yes" if field.required else "no"
        out.append(f"| `{name}` | {_type_name(field)} | {required} | {envelope_docs[name]} |")
    out += ["", "## Events", "", "| type | version | producer | consumers |", "| --- | --- | --- | --- |"]
    contracts = sorted(REGISTRY.values(), key=lambda c: (c.producer, c.type, c.version))
    for c in contracts:
        out.append(f"| [`{c.type}`](#{c.type.replace('.', '')}-v{c.version}) | {c.version} | "
                   f"{c.producer} | {', '.join(c.consumers)} |")
    newest = {c.type: c.version for c in sorted(contracts, key=lambda c: c.version)}
    for c in contracts:
        emitters, handlers = flow.of(c)
        emitted = (f"emitted by {', '.join(f'`{e}`' for e in emitters)}" if emitters
                   else f"no longer emitted (v{newest[c.type]} replaced it)" if c.version < newest[c.type]
                   else "emitted by (no `tx.emit` of it found)")
        out += ["", f"### {c.type} v{c.version}", "", c.description, "",
                f"Producer: **{c.producer}**, {emitted}.", "",
                "Consumers (`service.handler → the actions function it calls`):" if handlers
                else "Consumers: (none yet).", ""]
        out += [f"- `{h}`" for h in handlers]
        out += ([""] if handlers else []) + [
            "| field | type | required | description |", "| --- | --- | --- | --- |", *_rows(c.schema)]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
