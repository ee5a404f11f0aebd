"""The price schedule administrators set (services/billing/domain/prices.py): through
the API, with orders opened from enrollment and exam events on the real broker and
database. An order keeps the price it was opened at."""
import uuid
from datetime import datetime, timedelta, timezone

from shared.calendar import program_date, start_of_day
from shared.contracts import new_event
from shared.contracts.enrollment import Enrolled
from tests.support import events
from tests.support.billing_helpers import order_of
from tests.support.wait import wait_for

PROBLEM = "application/problem+json"


def _today():
    return program_date(datetime.now(timezone.utc))


def _enrolled_at(when, full_name, level="L4"):
    """enrollment.enrolled as it would arrive for an enrollment made at `when`."""
    made = events.enrolled(full_name=full_name, level=level)
    return new_event(Enrolled, made.data, correlation_id=uuid.UUID(made.data["enrollment_id"]), occurred_at=when)


def _set(admin, kind, amount_fen, effective_from, **more):
    return admin.post("/billing/prices", {"kind": kind, "amount_fen": amount_fen,
                                          "effective_from": effective_from.isoformat(), **more})


def test_a_price_effective_tomorrow_leaves_todays_orders_and_takes_over_at_midnight(services, bus):
    services.start("billing")
    admin = services.client("billing", "admin", subject="admin-wang")
    clerk = services.client("billing", "finance_clerk")
    tomorrow = _today() + timedelta(days=1)

    made = _set(admin, "L4", 420000, tomorrow, reason="2027 price list")
    assert made.status_code == 201, made.text
    entry = made.json()
    assert (entry["kind"], entry["amount_fen"], entry["recorded_by"], entry["effective_from"]) == \
        ("L4", 420000, "admin-wang", tomorrow.isoformat())
    assert entry["recorded_at"] and entry["takes_effect_at"] == start_of_day(tomorrow).isoformat()

    today = events.enrolled(full_name="冯涛")
    bus.publish(today)
    assert order_of(clerk, today)["amount_fen"] == 390000
    # An enrollment at 00:00 Asia/Shanghai tomorrow is opened at the new price; one a
    # microsecond before, at the old one.
    at_midnight = _enrolled_at(start_of_day(tomorrow), "蒋芳")
    just_before = _enrolled_at(start_of_day(tomorrow) - timedelta(microseconds=1), "韩雪")
    bus.publish(at_midnight)
    bus.publish(just_before)
    assert order_of(clerk, at_midnight)["amount_fen"] == 420000
    assert order_of(clerk, just_before)["amount_fen"] == 390000

    operator = services.client("billing", "base_operator", base="B001")
    schedule = operator.get("/billing/prices").json()
    assert schedule["in_effect"] == {"L4": 390000, "L3": 490000, "retake": 50000}
    assert [(e["kind"], e["amount_fen"], e["effective_from"]) for e in schedule["entries"]] == [
        ("L4", 390000, None), ("L4", 420000, tomorrow.isoformat()), ("L3", 490000, None),
        ("retake", 50000, None)]


def test_a_price_effective_today_applies_to_the_next_order_and_an_open_order_keeps_its_own(services, bus):
    services.start("billing")
    admin = services.client("billing", "admin", subject="admin-li")
    clerk = services.client("billing", "finance_clerk")
    before = events.enrolled(full_name="曹阳", level="L3")
    bus.publish(before)
    opened = order_of(clerk, before)
    assert opened["amount_fen"] == 490000

    assert _set(admin, "L3", 520000, _today()).status_code == 201
    after = events.enrolled(full_name="彭静", level="L3")
    bus.publish(after)
    assert order_of(clerk, after)["amount_fen"] == 520000
    assert clerk.get(f"/billing/orders/{opened['order_id']}").json()["amount_fen"] == 490000  # kept

    # Two entries on one date: the last recorded wins; both stay in the history.
    assert _set(admin, "L3", 510000, _today(), reason="corrected: 5,100.00").status_code == 201
    assert clerk.get("/billing/prices").json()["in_effect"]["L3"] == 510000
    history = clerk.get("/billing/prices/history").json()
    assert history["total"] == 5
    assert [(e["kind"], e["amount_fen"], e["recorded_by"]) for e in history["items"]] == [
        ("L4", 390000, "configuration"), ("L3", 490000, "configuration"), ("retake", 50000, "configuration"),
        ("L3", 520000, "admin-li"), ("L3", 510000, "admin-li")]


def test_the_retake_fee_comes_from_the_schedule(services, bus):
    services.start("billing", RETAKE_FEE_FEN=60000)
    admin = services.client("billing", "admin")
    clerk = services.client("billing", "finance_clerk")
    learner = events.enrolled(full_name="袁斌")
    bus.publish(learner)
    order_of(clerk, learner)
    bus.publish(events.retake_required(learner, attempt=3))  # at the configured starting fee
    path = f"/billing/enrollments/{learner.data['enrollment_id']}/orders"
    wait_for(lambda: len(clerk.get(path).json()["items"]) == 2, timeout=20)

    assert _set(admin, "retake", 65000, _today()).status_code == 201
    bus.publish(events.retake_required(learner, attempt=4))
    orders = wait_for(lambda: (o := clerk.get(path).json()["items"]) and len(o) == 3 and o, timeout=20)
    assert [o["amount_fen"] for o in orders] == [390000, 60000, 65000]


def test_only_an_administrator_sets_a_price_and_bad_input_is_a_problem(services, bus):
    services.start("billing")
    admin = services.client("billing", "admin")
    good = {"kind": "L4", "amount_fen": 400000, "effective_from": _today().isoformat()}
    for role in ("finance_clerk", "base_operator", "learner"):
        refused = services.client("billing", role, base="B001").post("/billing/prices", good)
        assert refused.status_code == 403, (role, refused.text)
    assert services.client("billing", "learner").get("/billing/prices").status_code == 403
    assert services.anonymous("billing").get("/billing/prices").status_code == 401

    for bad, field in [({"amount_fen": 0}, "amount_fen"), ({"amount_fen": 10_000_001}, "amount_fen"),
                       ({"amount_fen": "400000"}, "amount_fen"), ({"amount_fen": 3900.5}, "amount_fen"),
                       ({"kind": "L5"}, "kind"), ({"effective_from": "2026-13-01"}, "effective_from"),
                       ({"effective_from": (_today() - timedelta(days=1)).isoformat()}, "effective_from"),
                       ({"effective_from": (_today() + timedelta(days=800)).isoformat()}, "effective_from")]:
        answer = admin.post("/billing/prices", {**good, **bad})
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.headers["Content-Type"] == PROBLEM
        assert field in answer.json()["errors"], (bad, answer.json())
    assert admin.get("/billing/prices/history").json()["total"] == 3  # nothing recorded


def test_a_recorded_price_cannot_be_edited_or_deleted_in_the_database_either(tmp_path):
    from datetime import date

    import pytest
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from services.billing.models import PriceEntry, PriceHistoryIsAppendOnly, metadata
    engine = create_engine(f"sqlite:///{tmp_path}/prices.sqlite3")
    metadata.create_all(engine)
    with Session(engine) as session:
        entry = PriceEntry(kind="L4", amount_fen=420000, effective_from=date(2027, 1, 1), recorded_by="admin",
                           recorded_role="admin", recorded_at=datetime.now(timezone.utc))
        session.add(entry)
        session.commit()
        entry.amount_fen = 1
        with pytest.raises(PriceHistoryIsAppendOnly):
            session.commit()
        session.rollback()
        session.delete(entry)
        with pytest.raises(PriceHistoryIsAppendOnly):
            session.commit()
