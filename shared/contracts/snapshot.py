"""Snapshots of the event contracts: what each (type, version) promised, checked in.

A contract version is a promise to every consumer already deployed and to every
event already in a queue. `shared/contracts/snapshots/<type>.v<version>.json` keeps
what that promise is, field by field, as its wire form: each field's type, whether
it is required, whether it may be null, and its choices and bounds. Descriptions
are left out: rewording a field is not a change of contract.

    python -m shared.contracts.snapshot     (make contracts-snapshot; make catalog runs it)

writes the snapshot of every new contract version and records a compatible change
(an optional field added), and refuses a breaking one: a field removed, retyped,
newly required, no longer required, newly nullable, or with other choices or bounds.
A breaking change is a new version (docs/architecture.md, "Changing a contract"). A
version that was never deployed, or one retired once nothing in flight uses it,
is let go by deleting its snapshot file by hand, where a reviewer sees it.

tests/unit/test_contract_snapshots.py fails while the live contracts and the
snapshots differ.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from marshmallow import fields, validate

from .registry import REGISTRY, Contract

DIRECTORY = Path(__file__).resolve().parent / "snapshots"


def _kind(field) -> str:
    """The field's wire type, by the marshmallow class it is declared with."""
    if isinstance(field, fields.Dict):
        key = _kind(field.key_field) if field.key_field is not None else "any"
        value = _kind(field.value_field) if field.value_field is not None else "any"
        return f"object[{key}->{value}]"
    return type(field).__name__


def _constraints(field) -> dict:
    found = {}
    for v in field.validators:
        if isinstance(v, validate.OneOf):
            found["choices"] = sorted(str(c) for c in v.choices)
        elif isinstance(v, validate.Range):
            found["range"] = {"min": _number(v.min), "max": _number(v.max),
                              "min_inclusive": v.min_inclusive, "max_inclusive": v.max_inclusive}
        elif isinstance(v, validate.Length):
            found["length"] = {"min": v.min, "max": v.max, "equal": v.equal}
        else:
            found.setdefault("other", []).append(type(v).__name__)
    if isinstance(field, fields.Decimal) and field.places is not None:
        found["places"] = str(field.places)
    if isinstance(field, fields.Int) and field.strict:
        found["strict"] = True
    return found


def _number(value):
    return value if value is None or isinstance(value, int) else str(value)


def describe(contract: Contract) -> dict:
    """The snapshot of one contract: its wire fields, in declaration order."""
    described = {}
    for name, field in contract.schema.fields.items():
        described[field.data_key or name] = {
            "type": _kind(field),
            "required": bool(field.required),
            "nullable": bool(field.allow_none),
            **_constraints(field),
        }
    return {"type": contract.type, "version": contract.version, "fields": described}


def breaking_changes(recorded: dict, live: dict) -> list[str]:
    """What `live` breaks of the promise `recorded` made (empty: compatible).

    Consumers ignore fields they do not know, so a new optional field is the one
    change a version takes; any other change of a field breaks either the consumers
    already deployed (they reject what the new producer emits) or the events already
    in flight (the new consumer rejects them)."""
    problems = []
    before, after = recorded["fields"], live["fields"]
    for name, old in before.items():
        new = after.get(name)
        if new is None:
            problems.append(f"`{name}` removed")
            continue
        if new["type"] != old["type"]:
            problems.append(f"`{name}` retyped: {old['type']} -> {new['type']}")
        if new["required"] and not old["required"]:
            problems.append(f"`{name}` newly required")
        if old["required"] and not new["required"]:
            problems.append(f"`{name}` no longer required")
        if new["nullable"] and not old["nullable"]:
            problems.append(f"`{name}` newly nullable")
        if old["nullable"] and not new["nullable"]:
            problems.append(f"`{name}` no longer nullable")
        for key in sorted(({*old, *new} - {"type", "required", "nullable"})):
            if old.get(key) != new.get(key):
                problems.append(f"`{name}` {key} changed: {old.get(key)} -> {new.get(key)}")
    for name, new in after.items():
        if name not in before and new["required"]:
            problems.append(f"`{name}` added as required")
    return problems


def path_of(type_: str, version: int, directory: Path = DIRECTORY) -> Path:
    return directory / f"{type_}.v{version}.json"


def render(snapshot: dict) -> str:
    return json.dumps(snapshot, indent=2, ensure_ascii=False) + "\n"


def recorded(directory: Path = DIRECTORY) -> dict[tuple[str, int], dict]:
    found = {}
    for path in sorted(directory.glob("*.json")):
        snapshot = json.loads(path.read_text())
        found[(snapshot["type"], snapshot["version"])] = snapshot
    return found


def live(registry=None) -> dict[tuple[str, int], dict]:
    return {key: describe(c) for key, c in sorted((REGISTRY if registry is None else registry).items())}


def problems(recorded_snapshots: dict, live_snapshots: dict) -> list[str]:
    """Every breaking difference between the recorded snapshots and the live contracts."""
    found = []
    for (type_, version), snapshot in sorted(recorded_snapshots.items()):
        current = live_snapshots.get((type_, version))
        if current is None:
            found.append(f"{type_} v{version}: no longer declared (events of it may be in flight; "
                         "if it is retired on purpose, delete its snapshot file)")
            continue
        found += [f"{type_} v{version}: {p}" for p in breaking_changes(snapshot, current)]
    return found


def update(directory: Path = DIRECTORY, registry=None) -> list[str]:
    """Write new and compatibly changed snapshots; refuse (and write nothing) if any
    change is breaking. The paths written."""
    before, now = recorded(directory), live(registry)
    refused = problems(before, now)
    if refused:
        raise BreakingChange(refused)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for (type_, version), snapshot in now.items():
        path = path_of(type_, version, directory)
        if before.get((type_, version)) != snapshot:
            path.write_text(render(snapshot))
            written.append(str(path))
    return written


class BreakingChange(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def main() -> int:
    try:  # (running this module imported the package first, which registered every contract)
        written = update()
    except BreakingChange as exc:
        print("Breaking change to a contract version; declare a new version instead "
              "(docs/architecture.md, \"Changing a contract\"):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    for path in written:
        print(f"snapshot written: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
