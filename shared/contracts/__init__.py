"""Event contracts: the only thing services share besides the broker.

Importing this package registers every contract (one module per producer).
"""
from . import billing, certificate, enrollment, exam, identity, learning  # noqa: F401  (registers)
from .envelope import Event, InvalidEvent, decode, encode, new_event
from .registry import REGISTRY, Contract, contracts_consumed_by, lookup, types_consumed_by

__all__ = [
    "REGISTRY", "Contract", "Event", "InvalidEvent", "contracts_consumed_by", "decode",
    "encode", "lookup", "new_event", "types_consumed_by",
]
