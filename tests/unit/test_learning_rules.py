"""Learning's pure rules: the catalog, validity, the daily cap, completion."""
import copy
from datetime import date, datetime, timedelta, timezone

import pytest
import yaml

from services.learning import catalogs, domain
from shared.calendar import PROGRAM_TZ

SHANGHAI = PROGRAM_TZ


def at(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def test_validity_is_six_calendar_months_clamped_to_month_end():
    assert domain.validity_from(at(2026, 8, 31, 10)).valid_until == date(2027, 2, 28)
    assert domain.validity_from(at(2027, 8, 31, 10)).valid_until == date(2028, 2, 29)  # leap year
    assert domain.validity_from(at(2026, 1, 15, 9)).valid_until == date(2026, 7, 15)


def test_activation_day_is_the_shanghai_day_of_payment():
    # 2026-08-30 17:00 UTC is already 2026-08-31 01:00 in Shanghai.
    paid = datetime(2026, 8, 30, 17, 0, tzinfo=timezone.utc)
    assert domain.validity_from(paid) == domain.Validity(date(2026, 8, 31), date(2027, 2, 28))


def test_study_is_accepted_until_the_last_instant_of_the_last_day():
    validity = domain.validity_from(at(2026, 8, 31, 10))
    last = at(2027, 2, 28, 23, 59, 59, 999999)
    domain.check_session(validity, "active", last, now=last)
    with pytest.raises(domain.ProgressRefused, match="expired"):
        domain.check_session(validity, "active", last + timedelta(microseconds=1),
                             now=last + timedelta(microseconds=1))


def test_study_before_activation_or_in_the_future_is_refused():
    validity = domain.validity_from(at(2026, 8, 31, 10))
    with pytest.raises(domain.ProgressRefused, match="before"):
        domain.check_session(validity, "active", at(2026, 8, 30, 23, 59), now=at(2026, 9, 1))
    with pytest.raises(domain.ProgressRefused, match="future"):
        domain.check_session(validity, "active", at(2026, 9, 1, 12), now=at(2026, 9, 1, 11))


def test_the_daily_cap_refuses_the_excess_with_a_reason():
    assert domain.apply_daily_cap(0, 300, 480) == domain.CapDecision(300, 0, None)
    capped = domain.apply_daily_cap(400, 120, 480)
    assert (capped.accepted, capped.refused) == (80, 40)
    assert "480" in capped.reason
    assert domain.apply_daily_cap(480, 30, 480).accepted == 0


def test_a_session_counts_for_the_shanghai_day_it_started():
    assert domain.study_day(at(2026, 9, 1, 23, 50)) == date(2026, 9, 1)
    assert domain.study_day(at(2026, 9, 2, 0, 10)) == date(2026, 9, 2)
    # 15:55 UTC is 23:55 in Shanghai; 16:05 UTC is already the next day there.
    assert domain.study_day(datetime(2026, 9, 1, 15, 55, tzinfo=timezone.utc)) == date(2026, 9, 1)
    assert domain.study_day(datetime(2026, 9, 1, 16, 5, tzinfo=timezone.utc)) == date(2026, 9, 2)


def _data():
    return yaml.safe_load((catalogs.DIRECTORY / "v1.yaml").read_text(encoding="utf-8"))


def test_the_shipped_catalog_has_10_foundation_and_37_professional_courses():
    catalog = domain.load_catalog(_data())
    assert sum(c.category == "foundation" for c in catalog.courses.values()) == 10
    assert sum(c.category != "foundation" for c in catalog.courses.values()) == 37
    for level in ("L4", "L3"):
        assert 80 <= catalog.program_hours(level) <= 120


@pytest.mark.parametrize("break_it, message, rule", [
    (lambda d: d["programs"]["L4"].append("X99"), "unknown courses", "UNKNOWN_COURSE"),
    (lambda d: d["programs"]["L4"].__setitem__(slice(None), ["F01", "F02"]), "6 class hours", "PROGRAM_HOURS"),
    (lambda d: d["programs"]["L3"].extend(["F01"]), "twice", "DUPLICATE_IN_PROGRAM"),
    (lambda d: d["courses"].append(dict(d["courses"][0])), "appears twice", "DUPLICATE_COURSE"),
    (lambda d: d["courses"].pop(), "37 professional", "COURSE_COUNT"),
    (lambda d: d["courses"][0].__setitem__("category", "cooking"), "unknown category", "UNKNOWN_CATEGORY"),
    (lambda d: d["courses"][0].pop("class_hours"), "class_hours", "CATALOG_SHAPE"),
    (lambda d: d["programs"].pop("L3"), "L3 totals 0", "PROGRAM_HOURS"),
])
def test_a_broken_catalog_is_refused_naming_the_problem(break_it, message, rule):
    data = copy.deepcopy(_data())
    break_it(data)
    with pytest.raises(domain.CatalogError, match=message) as refused:
        domain.load_catalog(data)
    assert refused.value.extra["rules"][0]["rule"] == rule


def test_a_program_of_exactly_80_or_120_class_hours_is_accepted_121_is_not():
    data = copy.deepcopy(_data())  # L3 has every course: 117 class hours
    data["courses"][0]["class_hours"] += 3  # F01: 120 in L3, 88 in L4
    assert domain.load_catalog(data).program_hours("L3") == 120
    data["courses"][0]["class_hours"] += 1
    with pytest.raises(domain.CatalogError, match="121"):
        domain.load_catalog(data)
    data = copy.deepcopy(_data())
    l4 = data["programs"]["L4"]  # 85 class hours; M07 has 2, C02 3, A08 2
    l4.remove("M07")
    l4.remove("C02")
    assert domain.load_catalog(data).program_hours("L4") == 80
    l4.remove("A08")
    with pytest.raises(domain.CatalogError, match="78"):
        domain.load_catalog(data)


def test_coursework_completes_when_every_required_course_reaches_its_hours():
    catalog = domain.load_catalog(_data())
    progress = domain.Progress({c: catalog.minutes_required(c) for c in catalog.program("L4")})
    assert progress.coursework_complete(catalog, "L4")
    assert sum(progress.class_hours_by_category(catalog, "L4").values()) == catalog.program_hours("L4")
    last = catalog.program("L4")[-1]
    progress.minutes[last] -= 1
    assert not progress.complete(catalog, last)
    assert not progress.coursework_complete(catalog, "L4")


def test_the_extension_that_set_the_last_day_asked_again_is_a_repeat():
    from datetime import date
    assert domain.repeats_extension(date(2027, 3, 31), "住院", date(2027, 3, 31), "住院")
    assert not domain.repeats_extension(date(2027, 3, 31), "住院", date(2027, 4, 30), "住院")
    assert not domain.repeats_extension(date(2027, 3, 31), "住院", date(2027, 3, 31), "出差")
    assert not domain.repeats_extension(None, None, date(2027, 3, 31), "住院")
