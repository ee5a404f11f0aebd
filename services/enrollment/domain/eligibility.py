"""Who may sit which level (domain.md, "Levels and eligibility").

`assess` returns every rule the application fails, each in words a base operator
understands; an empty list means eligible. For a level with several routes a
refusal names each route and why it is closed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.calendar import add_months, whole_months_between

# Education tiers in order; a learner is at a tier whether graduated or studying.
TIERS = ("junior_secondary_or_below", "secondary_vocational", "general_high_school",
         "junior_college", "bachelor", "master", "doctorate")
TIER_NAMES = {
    "junior_secondary_or_below": "junior secondary or below (初中及以下)",
    "secondary_vocational": "secondary vocational (中职/中专/职高/技校)",
    "general_high_school": "general high school (普通高中)",
    "junior_college": "junior college (大专)",
    "bachelor": "bachelor's degree (本科)",
    "master": "master's degree (硕士)",
    "doctorate": "doctorate (博士)",
}
STATUSES = ("graduated", "studying")
L4_WORK_MONTHS = 36
L3_WORK_MONTHS_AFTER_L4 = 12
# The legal minimum working age (Labour Law art. 15): no related work before it,
# and no application before it either (the certificate is a labour qualification).
MINIMUM_WORKING_AGE = 16


@dataclass(frozen=True)
class Education:
    tier: str
    status: str  # graduated | studying

    def at_least(self, tier: str) -> bool:
        return TIERS.index(self.tier) >= TIERS.index(tier)


@dataclass(frozen=True)
class Applicant:
    level: str
    education: Education
    related_work_months: int
    # Months of related work since the L4 certificate was issued (L3 route 2).
    work_months_since_l4: int = 0
    # From the ID number: bounds the work a person can have done.
    birth_date: date | None = None


@dataclass(frozen=True)
class HeldCertificate:
    """A certificate of this program, as the registry's events recorded it."""
    number: str
    level: str
    issued_on: date
    revoked: bool = False


@dataclass(frozen=True)
class FailedRule:
    rule: str
    message: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "message": self.message}


def holds_level(certificates: list[HeldCertificate], level: str) -> bool:
    """The registry holds a standing certificate of this level for the person (issued
    here or imported from before this system): they are not enrolled for it again."""
    return any(c.level == level and not c.revoked for c in certificates)


def assess(applicant: Applicant, certificates: list[HeldCertificate], today: date) -> list[FailedRule]:
    """Every rule the application fails; empty when eligible."""
    failed = _plausibility(applicant, today)
    if applicant.level == "L4":
        failed += _assess_l4(applicant)
    elif applicant.level == "L3":
        failed += _assess_l3(applicant, certificates, today)
    else:
        failed.append(FailedRule("LEVEL", f"unknown level {applicant.level!r}: L4 or L3"))
    return failed


def birthday(birth_date: date, years: int) -> date:
    """The day a person completes `years` years. Born on 29 February, they complete
    a year in a common year on 1 March, never earlier: an age limit is not reached
    before the full years are lived."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:  # 29 February in a common year
        return date(birth_date.year + years, 3, 1)


def age_on(birth_date: date, day: date) -> int:
    """Whole years completed on `day` (a program date, Asia/Shanghai)."""
    years = day.year - birth_date.year
    return years if birthday(birth_date, years) <= day else years - 1


def _plausibility(a: Applicant, today: date) -> list[FailedRule]:
    """An applicant under the minimum age, or stated work a person cannot have done,
    is refused whatever the route."""
    failed = []
    if a.birth_date is not None and age_on(a.birth_date, today) < MINIMUM_WORKING_AGE:
        failed.append(FailedRule("MINIMUM_AGE", f"The applicant must be at least "
                      f"{MINIMUM_WORKING_AGE} years old on the application date (the legal minimum "
                      f"working age; the certificate is a labour qualification); the ID number's "
                      f"birth date makes them younger than that on {today.isoformat()}."))
    if a.birth_date is not None:
        possible = whole_months_between(birthday(a.birth_date, MINIMUM_WORKING_AGE), today)
        if a.related_work_months > possible:
            failed.append(FailedRule("WORK_MONTHS_IMPLAUSIBLE", f"The applicant states "
                          f"{a.related_work_months} months of related work, but only {possible} "
                          f"months have passed since they turned {MINIMUM_WORKING_AGE}."))
    if a.work_months_since_l4 > a.related_work_months:
        failed.append(FailedRule("WORK_MONTHS_INCONSISTENT", f"The applicant states "
                      f"{a.work_months_since_l4} months of work since the L4 certificate but only "
                      f"{a.related_work_months} months of related work in all."))
    return failed


def _assess_l4(a: Applicant) -> list[FailedRule]:
    if a.education.at_least("secondary_vocational") or a.related_work_months >= L4_WORK_MONTHS:
        return []
    return [
        FailedRule("L4_EDUCATION", "L4 needs senior-secondary education or above (secondary "
                   "vocational, general high school or higher; current students count); "
                   f"the applicant's education is {TIER_NAMES[a.education.tier]}."),
        FailedRule("L4_WORK_EXPERIENCE", f"Without that education, L4 needs at least "
                   f"{L4_WORK_MONTHS} months of related work; the applicant has "
                   f"{a.related_work_months}."),
    ]


def _assess_l3(a: Applicant, certificates: list[HeldCertificate], today: date) -> list[FailedRule]:
    if a.education.at_least("bachelor") and a.education.status == "graduated":
        return []
    if a.education.at_least("bachelor"):
        by_education = FailedRule("L3_BACHELOR", "L3 by education needs a completed bachelor's "
                                  "degree or above; current students do not count.")
    else:
        by_education = FailedRule("L3_BACHELOR", "L3 by education needs a completed bachelor's "
                                  f"degree or above; the applicant's education is "
                                  f"{TIER_NAMES[a.education.tier]}.")
    by_certificate = _l4_certificate_route(a, certificates, today)
    return [by_education, *by_certificate] if by_certificate else []


def _l4_certificate_route(a: Applicant, certificates, today) -> list[FailedRule]:
    """The L4 certificate route: every reason it is closed, or [] when open."""
    l4 = [c for c in certificates if c.level == "L4"]
    held = [c for c in l4 if not c.revoked]
    if not held:
        revoked = ", ".join(c.number for c in l4)
        return [FailedRule("L3_L4_CERTIFICATE", "The other L3 route needs an L4 certificate of this "
                           "program; the registry holds "
                           + (f"only the revoked certificate(s) {revoked}" if revoked else "none")
                           + " for this ID number.")]
    oldest = min(held, key=lambda c: c.issued_on)  # the one that allows the most work since
    possible = whole_months_between(oldest.issued_on, today)
    failed = []
    if add_months(oldest.issued_on, L3_WORK_MONTHS_AFTER_L4) > today:
        failed.append(FailedRule("L3_L4_CERTIFICATE_AGE", f"The L4 certificate {oldest.number} was "
                      f"issued on {oldest.issued_on.isoformat()}; L3 needs {L3_WORK_MONTHS_AFTER_L4} "
                      "months of related work after its issue, which is not yet possible."))
    if a.work_months_since_l4 < L3_WORK_MONTHS_AFTER_L4:
        failed.append(FailedRule("L3_WORK_AFTER_L4", f"L3 needs at least {L3_WORK_MONTHS_AFTER_L4} "
                      "months of related work after the L4 certificate's issue; the applicant "
                      f"states {a.work_months_since_l4}."))
    elif a.work_months_since_l4 > possible:
        failed.append(FailedRule("L3_WORK_AFTER_L4_IMPOSSIBLE", f"The applicant states "
                      f"{a.work_months_since_l4} months of work since the L4 certificate "
                      f"{oldest.number}, but only {possible} months have passed since its issue."))
    return failed
