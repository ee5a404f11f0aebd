"""Study time a learner could really have spent (learning's pure rules): no more than
has passed since a session started (plus the clock allowance), overlapping sessions
counted once, idle gaps between a live session's heartbeats not counted."""
from datetime import datetime, timedelta

import pytest

from services.learning import domain
from shared.calendar import PROGRAM_TZ

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=PROGRAM_TZ)
MINUTE = timedelta(minutes=1)


def rules(credit):
    return [r.rule for r in credit.refusals]


# -- the clock allowance ---------------------------------------------------------

def test_a_session_started_a_minute_ago_reporting_600_minutes_is_credited_3():
    credit = domain.credit_report(NOW - MINUTE, NOW, 600, [])
    assert credit.minutes == 3  # one minute passed, two of clock allowance
    assert rules(credit) == ["LONGER_THAN_ELAPSED"]
    assert credit.refusals[0].minutes == 597 and "600" in credit.refusals[0].message


def test_minutes_up_to_the_elapsed_time_plus_the_allowance_are_credited_one_more_is_not():
    started = NOW - 60 * MINUTE
    assert domain.credit_report(started, NOW, 62, []) == domain.TimeCredit(62, (started, started + 62 * MINUTE))
    over = domain.credit_report(started, NOW, 63, [])
    assert (over.minutes, over.refusals[0].minutes) == (62, 1)


def test_the_allowance_counts_whole_minutes_a_second_short_is_a_minute_short():
    started = NOW - 60 * MINUTE + timedelta(seconds=1)  # 59 min 59 s ago
    assert domain.credit_report(started, NOW, 62, []).minutes == 61


def test_a_session_starting_inside_the_allowance_credits_only_what_the_allowance_leaves():
    assert domain.credit_report(NOW + MINUTE, NOW, 5, []).minutes == 1
    assert domain.credit_report(NOW + 2 * MINUTE, NOW, 5, []).minutes == 0


def test_the_allowance_is_a_setting_the_development_profile_lifts():
    lifted = timedelta(minutes=100000)
    assert domain.credit_report(NOW - MINUTE, NOW, 600, [], allowance=lifted).minutes == 600
    assert domain.credit_report(NOW - MINUTE, NOW, 600, [], allowance=timedelta(0)).minutes == 1


def test_a_start_beyond_the_allowance_is_in_the_future():
    validity = domain.validity_from(NOW - timedelta(days=3))
    domain.check_session(validity, "active", NOW + 2 * MINUTE, NOW)
    with pytest.raises(domain.ProgressRefused, match="future"):
        domain.check_session(validity, "active", NOW + 2 * MINUTE + timedelta(seconds=1), NOW)
    domain.check_session(validity, "active", NOW + 60 * MINUTE, NOW, allowance=timedelta(minutes=100000))


# -- overlapping sessions ------------------------------------------------------------

def test_a_session_inside_another_of_the_learner_credits_nothing():
    other = [(NOW - 90 * MINUTE, NOW - 30 * MINUTE)]
    credit = domain.credit_report(NOW - 80 * MINUTE, NOW, 30, other)
    assert credit.minutes == 0 and rules(credit) == ["OVERLAPPING_SESSION"]
    assert credit.refusals[0].minutes == 30


def test_a_partly_overlapping_session_credits_only_the_time_no_other_session_claims():
    other = [(NOW - 60 * MINUTE, NOW - 40 * MINUTE)]
    credit = domain.credit_report(NOW - 50 * MINUTE, NOW, 30, other)  # 10 of its 30 overlap
    assert credit.minutes == 20 and credit.refusals[0].minutes == 10


def test_time_claimed_by_several_sessions_is_not_subtracted_twice():
    others = [(NOW - 60 * MINUTE, NOW - 40 * MINUTE), (NOW - 50 * MINUTE, NOW - 45 * MINUTE),
              (NOW - 35 * MINUTE, NOW - 30 * MINUTE)]
    assert domain.credit_report(NOW - 50 * MINUTE, NOW, 30, others).minutes == 15


def test_sessions_end_to_end_do_not_overlap_and_jitter_of_a_few_seconds_is_tolerated():
    previous = [(NOW - 2 * MINUTE, NOW - MINUTE)]
    assert domain.credit_report(NOW - MINUTE, NOW, 1, previous).minutes == 1
    jitter = [(NOW - 2 * MINUTE, NOW - MINUTE + timedelta(seconds=3))]
    assert domain.credit_report(NOW - MINUTE, NOW, 1, jitter).minutes == 1
    half = [(NOW - 2 * MINUTE, NOW - MINUTE + timedelta(seconds=30))]
    assert domain.credit_report(NOW - MINUTE, NOW, 1, half).minutes == 0


def _one_minute_reports(every):
    others, credited = [], 0
    for i in range(10):
        credit = domain.credit_report(NOW - 20 * MINUTE + i * every, NOW, 1, others)
        others.append(credit.interval)
        credited += credit.minutes
    return credited


def test_one_minute_reports_a_minute_apart_each_count_half_a_minute_apart_never_twice():
    assert _one_minute_reports(MINUTE) == 10
    assert _one_minute_reports(timedelta(seconds=58)) == 10  # within the jitter tolerance
    # 5.5 minutes of real time: never more (only whole free minutes count)
    assert _one_minute_reports(timedelta(seconds=30)) <= 5


# -- live sessions: started, kept alive, ended ------------------------------------------

def test_heartbeats_a_minute_apart_credit_the_minutes_between_start_and_end():
    beats = [NOW + i * MINUTE for i in range(1, 31)]
    assert domain.credit_heartbeats(NOW, beats, []) == (30, [])


def test_a_gap_longer_than_the_idle_limit_is_not_counted():
    beats = [NOW + 5 * MINUTE, NOW + 10 * MINUTE, NOW + 21 * MINUTE, NOW + 25 * MINUTE]
    credited, refusals = domain.credit_heartbeats(NOW, beats, [])
    assert credited == 14  # 5 + 5 + (11 idle) + 4
    assert [(r.rule, r.minutes) for r in refusals] == [("IDLE", 11)]
    assert "idle" in refusals[0].message


def test_a_gap_of_exactly_the_idle_limit_counts():
    assert domain.credit_heartbeats(NOW, [NOW + 10 * MINUTE], [])[0] == 10
    assert domain.credit_heartbeats(NOW, [NOW + 10 * MINUTE + timedelta(seconds=1)], [])[0] == 0


def test_seconds_between_heartbeats_accumulate_into_whole_minutes():
    beats = [NOW + i * timedelta(seconds=40) for i in range(1, 10)]  # 6 minutes
    live = domain.start_live(NOW)
    credits = []
    for at in beats:
        live, credit = domain.heartbeat(live, at, [])
        credits.append(credit.minutes)
    assert credits == [0, 1, 1, 0, 1, 1, 0, 1, 1] and live.credited_minutes == 6


def test_a_live_session_does_not_count_time_another_session_claims():
    other = [(NOW + 10 * MINUTE, NOW + 20 * MINUTE)]
    beats = [NOW + i * MINUTE for i in range(1, 31)]
    credited, refusals = domain.credit_heartbeats(NOW, beats, other)
    assert credited == 20
    assert sum(r.minutes for r in refusals if r.rule == "OVERLAPPING_SESSION") == 10


def test_a_late_duplicate_heartbeat_adds_nothing():
    live, _ = domain.heartbeat(domain.start_live(NOW), NOW + 5 * MINUTE, [])
    again, credit = domain.heartbeat(live, NOW + 4 * MINUTE, [])
    assert credit.minutes == 0 and again == live


# -- the daily cap after the time credit ----------------------------------------------

def test_refused_minutes_carry_every_reason():
    credit = domain.credit_report(NOW - 60 * MINUTE, NOW, 100, [(NOW - 60 * MINUTE, NOW - 50 * MINUTE)])
    decision = domain.decide(credit, already_today=440, cap=480)
    assert (decision.accepted, decision.refused) == (40, 60)
    assert [(r.rule, r.minutes) for r in decision.refusals] == [
        ("LONGER_THAN_ELAPSED", 38), ("OVERLAPPING_SESSION", 10), ("DAILY_CAP", 12)]
    assert "clock allowance" in decision.reason and "daily study cap" in decision.reason


def test_an_ended_session_answers_a_second_end_and_refuses_a_heartbeat():
    assert domain.already_ended(None, ending=False) is False
    assert domain.already_ended(None, ending=True) is False
    assert domain.already_ended(NOW, ending=True) is True
    with pytest.raises(domain.SessionEnded, match="start a new one"):
        domain.already_ended(NOW, ending=False)
