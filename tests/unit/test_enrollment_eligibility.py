"""Who may sit which level (domain.md, "Levels and eligibility"): the pure rules."""
from datetime import date

import pytest

from services.enrollment.domain.eligibility import (Applicant, Education, HeldCertificate,
                                                    TIERS, age_on, assess, birthday)

TODAY = date(2026, 3, 1)
ADULT = date(1990, 3, 7)


def applicant(level="L4", tier="junior_secondary_or_below", status="graduated", work=0,
              since_l4=0, born=ADULT):
    return Applicant(level=level, education=Education(tier, status), related_work_months=work,
                     work_months_since_l4=since_l4, birth_date=born)


def rules(a, certificates=(), today=TODAY):
    return [f.rule for f in assess(a, list(certificates), today)]


def l4_certificate(issued_on, number="CEA-L4-0001", revoked=False):
    return HeldCertificate(number, "L4", issued_on, revoked)


# -- L4 -------------------------------------------------------------------------

@pytest.mark.parametrize("tier", TIERS[1:])
@pytest.mark.parametrize("status", ["graduated", "studying"])
def test_l4_admits_senior_secondary_or_above_students_included(tier, status):
    assert rules(applicant("L4", tier, status)) == []


def test_l4_refuses_junior_secondary_without_work_and_names_both_closed_routes():
    failed = assess(applicant("L4", work=35), [], TODAY)
    assert [f.rule for f in failed] == ["L4_EDUCATION", "L4_WORK_EXPERIENCE"]
    assert "35" in failed[1].message and "36" in failed[1].message


def test_l4_admits_junior_secondary_with_exactly_36_months_of_work():
    assert rules(applicant("L4", work=36)) == []


def test_l4_junior_secondary_student_is_still_below_the_tier():
    assert rules(applicant("L4", status="studying")) == ["L4_EDUCATION", "L4_WORK_EXPERIENCE"]


# -- L3 by education --------------------------------------------------------------

@pytest.mark.parametrize("tier", ["bachelor", "master", "doctorate"])
def test_l3_admits_a_completed_bachelors_degree_or_above(tier):
    assert rules(applicant("L3", tier)) == []


def test_l3_refuses_a_student_at_the_bachelor_tier():
    failed = assess(applicant("L3", "bachelor", "studying"), [], TODAY)
    assert [f.rule for f in failed] == ["L3_BACHELOR", "L3_L4_CERTIFICATE"]
    assert "students do not count" in failed[0].message


def test_l3_refuses_a_junior_college_graduate_without_a_certificate():
    assert rules(applicant("L3", "junior_college", work=120)) == ["L3_BACHELOR", "L3_L4_CERTIFICATE"]


# -- L3 by an L4 certificate plus 12 months of work after it ---------------------------

def test_l3_by_certificate_exactly_twelve_months_old_with_twelve_months_of_work():
    cert = l4_certificate(date(2025, 3, 1))
    assert rules(applicant("L3", "junior_college", work=40, since_l4=12), [cert]) == []


def test_l3_certificate_364_days_old_cannot_carry_twelve_months_of_work():
    cert = l4_certificate(date(2025, 3, 2))  # 364 days before TODAY
    assert (TODAY - cert.issued_on).days == 364
    failed = rules(applicant("L3", "junior_college", work=40, since_l4=12), [cert])
    assert failed == ["L3_BACHELOR", "L3_L4_CERTIFICATE_AGE", "L3_WORK_AFTER_L4_IMPOSSIBLE"]


def test_l3_certificate_366_days_old_satisfies_the_route():
    cert = l4_certificate(date(2025, 2, 28))
    assert (TODAY - cert.issued_on).days == 366
    assert rules(applicant("L3", "junior_college", work=40, since_l4=12), [cert]) == []


def test_l3_certificate_age_counts_calendar_months_across_month_ends():
    # Issued on 31 August: twelve months later is 31 August, not 1 September or 30 August.
    cert = l4_certificate(date(2025, 8, 31))
    a = applicant("L3", "general_high_school", work=24, since_l4=12)
    assert "L3_L4_CERTIFICATE_AGE" in rules(a, [cert], today=date(2026, 8, 30))
    assert rules(a, [cert], today=date(2026, 8, 31)) == []


def test_l3_certificate_issued_on_29_february_is_a_year_old_on_28_february():
    cert = l4_certificate(date(2024, 2, 29))
    a = applicant("L3", "general_high_school", work=24, since_l4=12)
    assert "L3_L4_CERTIFICATE_AGE" in rules(a, [cert], today=date(2025, 2, 27))
    assert rules(a, [cert], today=date(2025, 2, 28)) == []


def test_l3_needs_at_least_twelve_months_of_work_after_the_certificate():
    cert = l4_certificate(date(2023, 1, 10))
    failed = rules(applicant("L3", "junior_college", work=40, since_l4=11), [cert])
    assert failed == ["L3_BACHELOR", "L3_WORK_AFTER_L4"]


def test_l3_refuses_more_work_since_the_certificate_than_months_since_its_issue():
    cert = l4_certificate(date(2024, 9, 15))  # 17 whole months before TODAY
    assert rules(applicant("L3", "junior_college", work=40, since_l4=17), [cert]) == []
    failed = assess(applicant("L3", "junior_college", work=40, since_l4=18), [cert], TODAY)
    assert [f.rule for f in failed] == ["L3_BACHELOR", "L3_WORK_AFTER_L4_IMPOSSIBLE"]
    assert "only 17 months" in failed[1].message


def test_l3_a_revoked_certificate_no_longer_counts():
    cert = l4_certificate(date(2023, 1, 10), number="CEA-L4-REVOKED", revoked=True)
    failed = assess(applicant("L3", "junior_college", work=40, since_l4=20), [cert], TODAY)
    assert [f.rule for f in failed] == ["L3_BACHELOR", "L3_L4_CERTIFICATE"]
    assert "revoked" in failed[1].message and "CEA-L4-REVOKED" in failed[1].message


def test_l3_uses_the_oldest_valid_certificate_and_ignores_other_levels():
    young = l4_certificate(date(2026, 1, 1), number="YOUNG")
    old = l4_certificate(date(2024, 1, 1), number="OLD")
    l3 = HeldCertificate("L3CERT", "L3", date(2020, 1, 1))
    a = applicant("L3", "junior_college", work=40, since_l4=20)
    assert rules(a, [young, old]) == []
    assert rules(a, [young, l3]) == ["L3_BACHELOR", "L3_L4_CERTIFICATE_AGE",
                                     "L3_WORK_AFTER_L4_IMPOSSIBLE"]


# -- what a person cannot have done -----------------------------------------------

def test_work_months_beyond_what_the_applicants_age_allows_are_refused():
    born = date(2008, 3, 1)  # 16 on 2024-03-01: 24 whole months before TODAY
    assert rules(applicant("L4", "bachelor", work=24, born=born)) == []
    failed = assess(applicant("L4", "bachelor", work=25, born=born), [], TODAY)
    assert [f.rule for f in failed] == ["WORK_MONTHS_IMPLAUSIBLE"]


def test_work_since_the_certificate_cannot_exceed_all_related_work():
    cert = l4_certificate(date(2023, 1, 10))
    failed = rules(applicant("L3", "junior_college", work=14, since_l4=20), [cert])
    assert failed == ["WORK_MONTHS_INCONSISTENT"]  # the route itself would be open


def test_a_refusal_names_every_failed_rule_at_once():
    born = date(2009, 6, 1)  # 16 only since 2025-06-01
    failed = rules(applicant("L4", work=36, since_l4=40, born=born))
    assert failed == ["WORK_MONTHS_IMPLAUSIBLE", "WORK_MONTHS_INCONSISTENT"]


# -- the minimum age ----------------------------------------------------------------

@pytest.mark.parametrize("level,tier", [("L4", "secondary_vocational"), ("L3", "bachelor")])
def test_an_applicant_exactly_16_on_the_application_date_is_eligible(level, tier):
    assert rules(applicant(level, tier, born=date(2010, 3, 1)), today=date(2026, 3, 1)) == []


@pytest.mark.parametrize("level,tier", [("L4", "secondary_vocational"), ("L3", "bachelor")])
def test_an_applicant_one_day_short_of_16_is_refused_naming_the_minimum_age(level, tier):
    failed = assess(applicant(level, tier, born=date(2010, 3, 2)), [], date(2026, 3, 1))
    assert [f.rule for f in failed] == ["MINIMUM_AGE"]
    assert "16" in failed[0].message and "2026-03-01" in failed[0].message
    assert "2010" not in failed[0].message  # the birth date is not quoted back


def test_a_12_year_old_secondary_vocational_student_is_refused_l4():
    a = applicant("L4", "secondary_vocational", "studying", born=date(2014, 5, 20))
    assert rules(a, today=date(2026, 11, 29)) == ["MINIMUM_AGE"]


def test_the_minimum_age_is_listed_with_the_other_failed_rules():
    a = applicant("L4", work=3, born=date(2014, 5, 20))
    assert rules(a, today=date(2026, 11, 29)) == ["MINIMUM_AGE", "WORK_MONTHS_IMPLAUSIBLE",
                                                  "L4_EDUCATION", "L4_WORK_EXPERIENCE"]


def test_born_on_29_february_is_16_on_29_february_of_the_leap_year_16_years_on():
    born = date(2008, 2, 29)
    a = applicant("L4", "secondary_vocational", born=born)
    assert rules(a, today=date(2024, 2, 28)) == ["MINIMUM_AGE"]
    assert rules(a, today=date(2024, 2, 29)) == []


def test_born_on_29_february_completes_a_year_in_a_common_year_on_1_march():
    born = date(2008, 2, 29)
    assert birthday(born, 17) == date(2025, 3, 1)
    assert age_on(born, date(2025, 2, 28)) == 16
    assert age_on(born, date(2025, 3, 1)) == 17
    # 2100 is a common year: born 2084-02-29, 16 only on 2100-03-01
    a = applicant("L4", "secondary_vocational", born=date(2084, 2, 29))
    assert rules(a, today=date(2100, 2, 28)) == ["MINIMUM_AGE"]
    assert rules(a, today=date(2100, 3, 1)) == []


def test_a_standing_certificate_of_the_level_is_held_whether_issued_or_imported():
    from services.enrollment.domain.eligibility import holds_level
    imported = HeldCertificate("JX-L4-OLD-1", "L4", date(2024, 5, 6))
    assert holds_level([imported], "L4") and not holds_level([imported], "L3")
    assert not holds_level([HeldCertificate("JX-L4-OLD-1", "L4", date(2024, 5, 6), revoked=True)], "L4")
    assert not holds_level([], "L4")
