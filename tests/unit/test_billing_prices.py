"""The price schedule (services/billing/domain/prices.py): which price an order
opened at a given instant gets, and which new entries an administrator may record."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.billing.domain.prices import (MAX_FEN, NoPrice, PriceEntry, current_schedule, check_new_price,
                                            price_in_effect)
from shared.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
STARTING = [PriceEntry("L4", 390000, None), PriceEntry("L3", 490000, None), PriceEntry("retake", 50000, None)]


def at(y, m, d, hh=0, mm=0, us=0):
    return datetime(y, m, d, hh, mm, 0, us, tzinfo=SHANGHAI)


def test_a_new_price_takes_effect_exactly_at_midnight_asia_shanghai():
    schedule = STARTING + [PriceEntry("L4", 420000, date(2027, 1, 1), sequence=1)]
    assert price_in_effect(schedule, "L4", at(2027, 1, 1)) == 420000
    assert price_in_effect(schedule, "L4", at(2026, 12, 31, 23, 59, 999999) + timedelta(seconds=59)) == 390000
    # 2026-12-31 16:00 UTC is midnight in Shanghai: already the new price
    assert price_in_effect(schedule, "L4", datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)) == 420000
    assert price_in_effect(schedule, "L4", datetime(2026, 12, 31, 15, 59, 59, tzinfo=timezone.utc)) == 390000


def test_the_day_before_keeps_the_price_in_effect_then():
    schedule = STARTING + [PriceEntry("L3", 520000, date(2027, 3, 1), sequence=1)]
    assert price_in_effect(schedule, "L3", at(2027, 2, 28, 12)) == 490000
    assert price_in_effect(schedule, "L3", at(2027, 3, 2)) == 520000
    assert price_in_effect(schedule, "L4", at(2027, 3, 2)) == 390000  # other kinds untouched


def test_two_entries_on_one_date_the_last_recorded_wins():
    schedule = STARTING + [PriceEntry("retake", 70000, date(2027, 1, 1), sequence=5),
                           PriceEntry("retake", 60000, date(2027, 1, 1), sequence=7),
                           PriceEntry("retake", 80000, date(2026, 12, 1), sequence=9)]
    assert price_in_effect(schedule, "retake", at(2027, 1, 1)) == 60000
    # a later recording for an earlier date does not beat a later date
    assert price_in_effect(schedule, "retake", at(2026, 12, 15)) == 80000
    assert price_in_effect(schedule, "retake", at(2027, 6, 1)) == 60000


def test_the_starting_price_holds_until_the_first_entry_and_nothing_without_one():
    assert price_in_effect(STARTING, "L4", at(2000, 1, 1)) == 390000
    with pytest.raises(NoPrice):
        price_in_effect(STARTING[:1], "L3", at(2027, 1, 1))
    with pytest.raises(ValueError):
        price_in_effect(STARTING, "L4", datetime(2027, 1, 1))  # naive


def test_the_current_schedule_shows_each_kind_in_effect_then_what_is_to_come():
    schedule = STARTING + [PriceEntry("L4", 400000, date(2026, 6, 1), sequence=1),
                           PriceEntry("L4", 420000, date(2027, 1, 1), sequence=2),
                           PriceEntry("L4", 410000, date(2027, 1, 1), sequence=3)]
    current = current_schedule(schedule, at(2026, 11, 29, 22))
    assert [(e.kind, e.amount_fen) for e in current] == \
        [("L4", 400000), ("L4", 410000), ("L3", 490000), ("retake", 50000)]


TODAY = date(2026, 11, 29)


@pytest.mark.parametrize("kind, amount, effective, field", [
    ("L5", 100, TODAY, "kind"),
    ("L4", 0, TODAY, "amount_fen"),
    ("L4", -1, TODAY, "amount_fen"),
    ("L4", MAX_FEN + 1, TODAY, "amount_fen"),
    ("L4", True, TODAY, "amount_fen"),
    ("L4", 400000, TODAY - timedelta(days=1), "effective_from"),
    ("L4", 400000, TODAY + timedelta(days=732), "effective_from"),
])
def test_a_new_price_is_refused_outside_its_bounds(kind, amount, effective, field):
    with pytest.raises(InvalidInput) as refused:
        check_new_price(kind, amount, effective, TODAY)
    assert set(refused.value.extra["errors"]) == {field}


def test_a_new_price_today_tomorrow_or_at_the_max_is_accepted():
    check_new_price("L4", 1, TODAY, TODAY)
    check_new_price("retake", MAX_FEN, TODAY + timedelta(days=1), TODAY)
    check_new_price("L3", 500000, TODAY + timedelta(days=731), TODAY)
