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


@dataclass(frozen=True)
class HeldCertificate:
    """An L4 certificate of this program, as the registry's events recorded it."""
    number: str
    level: str
    issued_on: date


@dataclass(frozen=True)
class FailedRule:
    rule: str
    message: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "message": self.message}


def assess(applicant: Applicant, certificates: list[HeldCertificate], today: date) -> list[FailedRule]:
    if applicant.level == "L4":
        return _assess_l4(applicant)
    if applicant.level == "L3":
        return _assess_l3(applicant, certificates, today)
    return [FailedRule("LEVEL", f"unknown level {applicant.level!r}: L4 or L3")]


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
    failed = []
    if a.education.at_least("bachelor") and a.education.status == "graduated":
        return []
    if a.education.at_least("bachelor"):
        failed.append(FailedRule("L3_BACHELOR", "L3 by education needs a completed bachelor's "
                                 "degree or above; current students do not count."))
    else:
        failed.append(FailedRule("L3_BACHELOR", "L3 by education needs a completed bachelor's "
                                 f"degree or above; the applicant's education is "
                                 f"{TIER_NAMES[a.education.tier]}."))
    route = _l4_certificate_route(a, certificates, today)
    if route is None:
        return []
    failed.append(route)
    return failed


def _l4_certificate_route(a: Applicant, certificates, today) -> FailedRule | None:
    held = [c for c in certificates if c.level == "L4"]
    if not held:
        return FailedRule("L3_L4_CERTIFICATE", "The other L3 route needs an L4 certificate of this "
                          "program; the registry holds none for this ID number.")
    oldest = min(held, key=lambda c: c.issued_on)
    possible = whole_months_between(oldest.issued_on, today)
    if add_months(oldest.issued_on, L3_WORK_MONTHS_AFTER_L4) > today:
        return FailedRule("L3_L4_CERTIFICATE_AGE", f"The L4 certificate {oldest.number} was issued on "
                          f"{oldest.issued_on.isoformat()}; L3 needs {L3_WORK_MONTHS_AFTER_L4} months of "
                          "related work after its issue, which is not yet possible.")
    if a.work_months_since_l4 < L3_WORK_MONTHS_AFTER_L4:
        return FailedRule("L3_WORK_AFTER_L4", f"L3 needs at least {L3_WORK_MONTHS_AFTER_L4} months of "
                          "related work after the L4 certificate's issue; the applicant states "
                          f"{a.work_months_since_l4}.")
    if a.work_months_since_l4 > possible:
        return FailedRule("L3_WORK_AFTER_L4", f"The applicant states {a.work_months_since_l4} months "
                          f"of work since the L4 certificate, but only {possible} months have passed "
                          "since its issue.")
    return None
