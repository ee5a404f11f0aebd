"""The registry of event contracts: one marshmallow schema per (type, version).

A contract is declared next to its schema with `@contract(...)`; the catalog
(docs/events.md), the topology (which queue receives which type) and the
consumers' validation are all read from this one registry.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cached_property

from marshmallow import EXCLUDE, Schema


class EventData(Schema):
    """Base of every event payload. Consumers ignore fields they do not know."""

    class Meta:
        unknown = EXCLUDE


@dataclass(frozen=True)
class Contract:
    type: str
    version: int
    producer: str
    consumers: tuple[str, ...]
    schema_cls: type[EventData]
    description: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.type, self.version)

    @cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name, f in self.schema.fields.items() if f.required)

    @cached_property
    def schema(self) -> EventData:
        """One schema instance per contract: marshmallow schemas are reusable."""
        return self.schema_cls()


class DuplicateContract(Exception):
    pass


REGISTRY: dict[tuple[str, int], Contract] = {}


def contract(type: str, version: int, *, producer: str, consumers: tuple[str, ...]):
    """Register the decorated schema as the payload of event `type` v`version`."""

    def register(schema_cls: type[EventData]) -> type[EventData]:
        found = Contract(
            type=type,
            version=version,
            producer=producer,
            consumers=tuple(consumers),
            schema_cls=schema_cls,
            description=inspect.cleandoc(schema_cls.__doc__ or ""),
        )
        if found.key in REGISTRY:
            raise DuplicateContract(f"{type} v{version} is declared twice")
        if not type.startswith(producer + "."):
            raise ValueError(f"{type}: an event type is named after its producer")
        REGISTRY[found.key] = found
        schema_cls.contract = found
        return schema_cls

    return register


def lookup(type: str, version: int) -> Contract | None:
    return REGISTRY.get((type, version))


def contracts_consumed_by(service: str) -> list[Contract]:
    return [c for c in REGISTRY.values() if service in c.consumers]


def types_consumed_by(service: str) -> set[str]:
    return {c.type for c in contracts_consumed_by(service)}
