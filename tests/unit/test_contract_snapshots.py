"""The checked-in contract snapshots (shared/contracts/snapshot.py): a field removed,
retyped or newly required within a version fails; an optional field added does not."""
import json

import pytest
from marshmallow import fields, validate

from shared.contracts import REGISTRY, snapshot
from shared.contracts.fields import described, fen, optional, text, uuid
from shared.contracts.registry import Contract, EventData


def contract_of(version=1, type_="billing.tested", **declared) -> Contract:
    """An unregistered contract with these fields (the registry is left alone)."""
    schema_cls = type("Tested", (EventData,), dict(declared))
    return Contract(type=type_, version=version, producer="billing", consumers=("learning",),
                    schema_cls=schema_cls, description="A test-only contract.")


def changed(drop=(), **declared) -> dict:
    """The snapshot of a small contract, with some fields dropped, replaced or added."""
    base = {"order_id": uuid("The order."), "amount_fen": fen("The amount."),
            "channel": described(fields.Str, "How.", validate=validate.OneOf(("alipay", "wechat_pay")))}
    return snapshot.describe(contract_of(**{k: v for k, v in {**base, **declared}.items() if k not in drop}))


first = changed  # the recorded version, before the change


def test_the_same_contract_is_compatible():
    assert snapshot.breaking_changes(first(), changed()) == []


def test_an_optional_field_added_is_compatible():
    assert snapshot.breaking_changes(first(), changed(remark=optional(fields.Str, "Added later."))) == []


def test_rewording_a_description_is_compatible():
    assert snapshot.breaking_changes(first(), changed(order_id=uuid("The order, reworded."))) == []


def test_a_removed_field_breaks():
    assert snapshot.breaking_changes(first(), changed(drop=("amount_fen",))) == ["`amount_fen` removed"]


def test_a_retyped_field_breaks():
    problems = snapshot.breaking_changes(first(), changed(order_id=text("Now a string.")))
    assert problems[0] == "`order_id` retyped: UUID -> String"


def test_a_field_newly_required_breaks():
    before = first(remark=optional(fields.Str, "Optional at first."))
    assert snapshot.breaking_changes(before, changed(remark=text("Now required."))) == [
        "`remark` newly required", "`remark` no longer nullable", "`remark` length changed: None -> "
        "{'min': 1, 'max': None, 'equal': None}"]


def test_a_required_field_added_breaks():
    assert snapshot.breaking_changes(first(), changed(remark=text("Required from the start."))) == [
        "`remark` added as required"]


def test_a_field_no_longer_required_breaks():
    problems = snapshot.breaking_changes(first(), changed(amount_fen=optional(fields.Int, "The amount.")))
    assert "`amount_fen` no longer required" in problems and "`amount_fen` newly nullable" in problems


def test_other_choices_break():
    wider = described(fields.Str, "How.", validate=validate.OneOf(("alipay", "wechat_pay", "cash")))
    assert snapshot.breaking_changes(first(), changed(channel=wider)) == [
        "`channel` choices changed: ['alipay', 'wechat_pay'] -> ['alipay', 'cash', 'wechat_pay']"]


def test_the_wire_name_is_what_is_compared():
    renamed = uuid("The order.")
    renamed.data_key = "order"
    assert snapshot.breaking_changes(first(), changed(order_id=renamed)) == [
        "`order_id` removed", "`order` added as required"]


def test_a_contract_no_longer_declared_is_reported():
    recorded = {("billing.tested", 1): first()}
    assert snapshot.problems(recorded, {}) == [
        "billing.tested v1: no longer declared (events of it may be in flight; "
        "if it is retired on purpose, delete its snapshot file)"]


def test_update_records_new_versions_and_compatible_changes_and_refuses_breaking_ones(tmp_path):
    v1 = contract_of(order_id=uuid("The order."))
    assert snapshot.update(tmp_path, {v1.key: v1}) == [str(tmp_path / "billing.tested.v1.json")]
    assert json.loads((tmp_path / "billing.tested.v1.json").read_text()) == snapshot.describe(v1)
    assert snapshot.update(tmp_path, {v1.key: v1}) == []  # nothing changed, nothing written

    grown = contract_of(order_id=uuid("The order."), remark=optional(fields.Str, "Added later."))
    assert snapshot.update(tmp_path, {grown.key: grown}) == [str(tmp_path / "billing.tested.v1.json")]

    broken = contract_of(remark=optional(fields.Str, "Added later."))
    v2 = contract_of(version=2, remark=optional(fields.Str, "Added later."))
    with pytest.raises(snapshot.BreakingChange) as refused:
        snapshot.update(tmp_path, {broken.key: broken, v2.key: v2})
    assert refused.value.problems == ["billing.tested v1: `order_id` removed"]
    assert not (tmp_path / "billing.tested.v2.json").exists()  # nothing written when refused

    # The breaking change as a new version beside the old one: accepted.
    written = snapshot.update(tmp_path, {grown.key: grown, v2.key: v2})
    assert written == [str(tmp_path / "billing.tested.v2.json")]


def test_the_live_contracts_keep_every_recorded_promise():
    """A field removed, retyped or newly required within a version fails here: declare
    a new version instead (docs/architecture.md, "Changing a contract")."""
    assert snapshot.problems(snapshot.recorded(), snapshot.live()) == []


def test_every_live_contract_version_has_its_current_snapshot():
    """A new version or a compatible change not yet recorded: make contracts-snapshot."""
    recorded, live = snapshot.recorded(), snapshot.live()
    assert set(live) == set(REGISTRY)
    stale = [f"{t} v{v}" for (t, v), s in live.items() if recorded.get((t, v)) != s]
    assert stale == [], f"snapshots out of date (make contracts-snapshot): {stale}"
