"""Every event contract: unique, documented, round-trips, and the event catalog is current."""
import ast
import inspect
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from marshmallow import fields, validate

from shared.contracts import REGISTRY, InvalidEvent, decode, encode, new_event
from shared.contracts import event_catalog, flow, registry
from shared.contracts.envelope import envelope_errors
from shared.messaging import topology

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = sorted(REGISTRY.values(), key=lambda c: c.key)


def sample_value(field):
    choices = [v for v in field.validators if isinstance(v, validate.OneOf)]
    if choices:
        return choices[0].choices[0]
    return {fields.UUID: uuid.uuid4(), fields.AwareDateTime: datetime(2026, 11, 28, 1, 30, tzinfo=timezone.utc),
            fields.Date: date(2026, 11, 28), fields.Int: 390000, fields.Decimal: Decimal("75.5"),
            fields.Bool: True, fields.Str: "张三—碳排放管理员", fields.Dict: {"foundation": 40}}[type(field)]


def sample(contract):
    return {name: sample_value(f) for name, f in contract.schema.fields.items()}


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: f"{c.type}-v{c.version}")
def test_every_event_round_trips_through_the_wire_form(contract):
    data = sample(contract)
    event = new_event(contract.schema_cls, data, correlation_id=uuid.uuid4())
    received = decode(encode(event))
    assert received.data == data
    assert (received.id, received.type, received.version, received.producer) == \
           (event.id, contract.type, contract.version, contract.producer)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: f"{c.type}-v{c.version}")
def test_every_event_is_described_field_by_field(contract):
    assert contract.description
    assert all(f.metadata.get("description") for f in contract.schema.fields.values())


def test_type_names_are_unique_across_the_contract_modules():
    """The registry refuses a duplicate, and no module declares one type twice."""
    declared = []
    for path in (ROOT / "shared" / "contracts").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "contract":
                declared.append((node.args[0].value, node.args[1].value))
    assert len(declared) == len(set(declared)) == len(REGISTRY)
    with pytest.raises(registry.DuplicateContract):
        registry.contract(CONTRACTS[0].type, CONTRACTS[0].version, producer=CONTRACTS[0].producer,
                          consumers=())(type("Again", (registry.EventData,), {}))


def test_the_checked_in_event_catalog_is_current():
    assert (ROOT / "docs" / "events.md").read_text() == event_catalog.render(), \
        "docs/events.md (the event catalog) is out of date: make catalog"


def test_the_event_catalog_finds_every_emitter_and_every_consumers_handler():
    """The flow the catalog prints is read from the source: each contract has a function
    that emits it, and each consumer it names a handler that calls into the service."""
    newest = {}
    for c in REGISTRY.values():
        newest[c.type] = max(newest.get(c.type, 0), c.version)
    for c in REGISTRY.values():
        emitters, handlers = flow.of(c)
        if c.version == newest[c.type]:  # an older version is only handled, while in flight
            assert emitters and all(e.module.startswith(f"services.{c.producer}.") for e in emitters), c.type
        else:
            assert not emitters, f"{c.type} v{c.version}: the producer still emits an older version"
        assert sorted(h.service for h in handlers) == sorted(c.consumers), c.type
        assert all(h.calls for h in handlers), c.type


def test_consumers_ignore_unknown_fields_but_reject_wrong_ones():
    contract = REGISTRY[("billing.paid", 1)]
    event = new_event(contract.schema_cls, sample(contract), correlation_id=uuid.uuid4())
    body = encode(event).replace(b'"data":{', b'"data":{"added_later":1,')
    assert "added_later" not in decode(body).data
    with pytest.raises(InvalidEvent, match="amount_fen"):
        decode(encode(event).replace(b'"amount_fen":390000', b'"amount_fen":"lots"'))


ENVELOPES = [
    {},
    {"id": "nope"},
    {"id": str(uuid.uuid4()), "type": "billing.paid", "version": 1, "occurred_at": "2026-11-28T01:30:00+00:00",
     "producer": "billing", "correlation_id": str(uuid.uuid4()), "data": {}},
    {"id": str(uuid.uuid4()), "type": "billing.paid", "version": "1", "occurred_at": "2026-11-28T01:30:00+00:00",
     "producer": "billing", "correlation_id": str(uuid.uuid4()), "data": {}},
    {"id": str(uuid.uuid4()), "type": "billing.paid", "version": 1, "occurred_at": "2026-11-28T01:30:00",
     "producer": "billing", "correlation_id": str(uuid.uuid4()), "data": {}},
    {"id": str(uuid.uuid4()), "type": "billing.paid", "version": 1, "occurred_at": "2026-11-28T01:30:00+08:00",
     "producer": "billing", "correlation_id": str(uuid.uuid4()), "causation_id": None, "data": []},
    {"id": str(uuid.uuid4()), "type": "billing.paid", "version": 0, "occurred_at": "2026-11-28T01:30:00+08:00",
     "producer": "", "correlation_id": str(uuid.uuid4()), "data": {}},
]


@pytest.mark.parametrize("raw", ENVELOPES)
def test_the_compiled_envelope_check_agrees_with_the_documented_schema(raw):
    import json

    import msgspec

    from shared.contracts.compiled import decode_envelope
    schema_says_valid = not envelope_errors(raw)
    try:
        decode_envelope(json.dumps(raw).encode())
        fast_says_valid = True
    except msgspec.ValidationError:
        fast_says_valid = False
    assert fast_says_valid == schema_says_valid


def test_each_consumer_named_by_a_contract_has_exactly_those_handlers():
    """The catalog's consumers are the services' real @event_handler methods."""
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
    from tests.support.services import SERVICE_CLASSES, load_class
    for name, path in SERVICE_CLASSES.items():
        cls = load_class(path)
        handled = set()
        for _, method in inspect.getmembers(cls, inspect.isfunction):
            for ep in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if hasattr(ep, "contract"):
                    handled.add(ep.contract.key)
        declared = {c.key for c in REGISTRY.values() if name in c.consumers}
        assert handled == declared, f"{name}: handlers {handled} vs catalog {declared}"
        assert topology.consumers().get(name, set()) == {k[0] for k in declared}
