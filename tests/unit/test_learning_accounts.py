"""Learning's pure rules about accounts: six calendar months, the last instant of
validity, extensions, the day a session counts toward."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.learning import domain
from shared.calendar import PROGRAM_TZ

UTC = timezone.utc


def at(*args):
    return datetime(*args, tzinfo=PROGRAM_TZ)


@pytest.mark.parametrize("activated, last_day", [
    (at(2026, 8, 31, 10), date(2027, 2, 28)),   # clamped to February's end
    (at(2027, 8, 31, 10), date(2028, 2, 29)),   # leap year
    (at(2027, 8, 30, 10), date(2028, 2, 29)),
    (at(2028, 2, 29, 10), date(2028, 8, 29)),   # from a leap day
    (at(2026, 3, 31, 10), date(2026, 9, 30)),   # 30-day month
    (at(2026, 12, 31, 10), date(2027, 6, 30)),  # across the year
    (at(2026, 7, 31, 10), date(2027, 1, 31)),
])
def test_validity_is_six_calendar_months_clamped_to_the_month_end(activated, last_day):
    assert domain.validity_from(activated).valid_until == last_day


def test_activation_late_in_the_utc_day_is_the_next_shanghai_day():
    # 2027-08-30 16:00 UTC is 2027-08-31 00:00 in Shanghai: activated Aug 31.
    validity = domain.validity_from(datetime(2027, 8, 30, 16, 0, tzinfo=UTC))
    assert validity == domain.Validity(date(2027, 8, 31), date(2028, 2, 29))
    just_before = domain.validity_from(datetime(2027, 8, 30, 15, 59, 59, 999999, tzinfo=UTC))
    assert just_before.valid_from == date(2027, 8, 30)


def test_an_account_is_valid_through_the_last_microsecond_of_its_last_day():
    last_day = date(2028, 2, 29)
    last_instant = at(2028, 2, 29, 23, 59, 59, 999999)
    assert not domain.has_expired(last_day, last_instant)
    assert domain.has_expired(last_day, last_instant + timedelta(microseconds=1))
    # The same boundary seen in UTC: 15:59:59.999999 valid, 16:00 expired.
    assert not domain.has_expired(last_day, datetime(2028, 2, 29, 15, 59, 59, 999999, tzinfo=UTC))
    assert domain.has_expired(last_day, datetime(2028, 2, 29, 16, 0, tzinfo=UTC))
    assert domain.Validity(date(2027, 8, 31), last_day).ends_at == last_instant


def test_a_session_starting_at_2359_shanghai_counts_toward_that_day_and_its_cap():
    # 23:59 in Shanghai is 15:59 UTC; one minute later it is the next day there.
    assert domain.study_day(datetime(2026, 9, 1, 15, 59, tzinfo=UTC)) == date(2026, 9, 1)
    assert domain.study_day(datetime(2026, 9, 1, 16, 0, tzinfo=UTC)) == date(2026, 9, 2)
    full_day = 480
    late = domain.apply_daily_cap(full_day, 30, 480)  # the day before is already full
    assert (late.accepted, late.refused) == (0, 30) and "480" in late.reason
    after_midnight = domain.apply_daily_cap(0, 30, 480)  # a new day, a new allowance
    assert (after_midnight.accepted, after_midnight.refused) == (30, 0)


def test_a_session_started_in_the_last_minute_of_validity_is_accepted_the_next_is_not():
    validity = domain.Validity(date(2027, 8, 31), date(2028, 2, 29))
    domain.check_session(validity, "active", at(2028, 2, 29, 23, 59), now=at(2028, 2, 29, 23, 59, 30))
    with pytest.raises(domain.ProgressRefused) as refused:
        domain.check_session(validity, "active", at(2028, 3, 1, 0, 0), now=at(2028, 3, 1, 0, 1))
    assert refused.value.extra["rules"][0]["rule"] == "ACCOUNT_EXPIRED"


def test_a_closed_or_expired_account_accepts_no_study():
    validity = domain.Validity(date(2026, 9, 1), date(2027, 3, 1))
    for status in ("closed", "expired"):
        with pytest.raises(domain.ProgressRefused) as refused:
            domain.check_session(validity, status, at(2026, 10, 1, 9), now=at(2026, 10, 1, 10))
        assert refused.value.extra["rules"][0]["rule"] == "ACCOUNT_NOT_ACTIVE"


def test_an_extension_moves_the_last_day_of_a_running_account_later():
    validity = domain.Validity(date(2026, 9, 1), date(2027, 3, 1))
    extended = domain.extend(validity, "active", date(2027, 4, 30), now=at(2027, 3, 1, 23, 59, 59, 999999))
    assert extended == domain.Validity(date(2026, 9, 1), date(2027, 4, 30))


@pytest.mark.parametrize("status, new_until, now, rule", [
    ("active", date(2027, 3, 1), at(2027, 1, 5), "NOT_LATER"),
    ("active", date(2027, 2, 1), at(2027, 1, 5), "NOT_LATER"),
    ("active", date(2027, 6, 1), at(2027, 3, 2, 0, 0), "ACCOUNT_NOT_ACTIVE"),  # ended, timer not yet run
    ("expired", date(2027, 6, 1), at(2027, 3, 5), "ACCOUNT_NOT_ACTIVE"),
    ("closed", date(2027, 6, 1), at(2027, 1, 5), "ACCOUNT_NOT_ACTIVE"),
])
def test_an_extension_is_refused_for_an_ended_account_or_a_day_not_later(status, new_until, now, rule):
    validity = domain.Validity(date(2026, 9, 1), date(2027, 3, 1))
    with pytest.raises((domain.ExtensionRefused, domain.AccountNotActive)) as refused:
        domain.extend(validity, status, new_until, now)
    assert refused.value.extra["rules"][0]["rule"] == rule
