"""Learning's rules, pure: the catalog, an account's validity, what progress counts.

domain.md, "Study": an account is valid for 6 calendar months from activation
(Asia/Shanghai, end of day; activated Aug 31 -> through Feb 28/29); study time is
capped per day; a course completes at its class hours; the coursework completes
when every required course of the level's program has.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from shared.calendar import add_months, end_of_day, program_date, start_of_day
from shared.errors import InvalidInput, RuleViolation

VALIDITY_MONTHS = 6
FOUNDATION_COURSES = 10
PROFESSIONAL_COURSES = 37
PROFESSIONAL_CATEGORIES = ("monitoring", "accounting", "verification", "trading",
                           "consulting_management")
PROGRAM_HOURS = (80, 120)
CLOCK_SKEW = timedelta(minutes=5)  # a player's clock may run a little ahead


class CatalogError(RuleViolation):
    """The catalog data breaks a rule; the message (and `rules`) names it."""
    slug = "catalog-refused"
    title = "The catalog breaks a rule of the curriculum"

    def __init__(self, rule: str, detail: str):
        super().__init__(detail, rules=[{"rule": rule, "message": detail}])


@dataclass(frozen=True)
class Course:
    code: str
    category: str
    class_hours: int
    title_zh: str
    title_en: str


@dataclass(frozen=True)
class Catalog:
    version: str
    minutes_per_class_hour: int
    courses: dict[str, Course]
    programs: dict[str, tuple[str, ...]]

    def program(self, level: str) -> tuple[str, ...]:
        return self.programs[level]

    def minutes_required(self, code: str) -> int:
        return self.courses[code].class_hours * self.minutes_per_class_hour

    def program_hours(self, level: str) -> int:
        return sum(self.courses[c].class_hours for c in self.programs[level])


def load_catalog(data: dict) -> Catalog:
    """Build and validate a catalog from its data; refuse it with a clear error."""
    try:
        version = str(data["version"])
        minutes = int(data["minutes_per_class_hour"])
        raw_courses, raw_programs = data["courses"], data["programs"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError("CATALOG_SHAPE", f"catalog data lacks {exc}") from None
    if minutes <= 0:
        raise CatalogError("CATALOG_SHAPE", "minutes_per_class_hour must be positive")
    courses: dict[str, Course] = {}
    for raw in raw_courses:
        try:
            course = Course(code=str(raw["code"]), category=str(raw["category"]),
                            class_hours=int(raw["class_hours"]),
                            title_zh=str(raw["title_zh"]), title_en=str(raw["title_en"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError("CATALOG_SHAPE", f"a course lacks or mistypes {exc}: {raw!r}") from None
        if course.code in courses:
            raise CatalogError("DUPLICATE_COURSE", f"course {course.code} appears twice")
        if course.category not in ("foundation",) + PROFESSIONAL_CATEGORIES:
            raise CatalogError("UNKNOWN_CATEGORY", f"course {course.code} has unknown category {course.category!r}")
        if course.class_hours <= 0:
            raise CatalogError("CLASS_HOURS", f"course {course.code} needs positive class hours")
        courses[course.code] = course
    counts = Counter("foundation" if c.category == "foundation" else "professional"
                     for c in courses.values())
    if counts["foundation"] != FOUNDATION_COURSES or counts["professional"] != PROFESSIONAL_COURSES:
        raise CatalogError("COURSE_COUNT", f"the curriculum has {FOUNDATION_COURSES} foundation and "
                           f"{PROFESSIONAL_COURSES} professional courses; this catalog has "
                           f"{counts['foundation']} and {counts['professional']}")
    missing = set(PROFESSIONAL_CATEGORIES) - {c.category for c in courses.values()}
    if missing:
        raise CatalogError("EMPTY_CATEGORY", f"no course in categories {sorted(missing)}")
    programs: dict[str, tuple[str, ...]] = {}
    for level in ("L4", "L3"):
        codes = tuple(str(c) for c in raw_programs.get(level) or ())
        unknown = [c for c in codes if c not in courses]
        if unknown:
            raise CatalogError("UNKNOWN_COURSE", f"program {level} names unknown courses {unknown}")
        if len(set(codes)) != len(codes):
            raise CatalogError("DUPLICATE_IN_PROGRAM", f"program {level} names a course twice")
        hours = sum(courses[c].class_hours for c in codes)
        if not PROGRAM_HOURS[0] <= hours <= PROGRAM_HOURS[1]:
            raise CatalogError("PROGRAM_HOURS", f"program {level} totals {hours} class hours; a level's program is "
                               f"{PROGRAM_HOURS[0]}-{PROGRAM_HOURS[1]}")
        programs[level] = codes
    return Catalog(version, minutes, courses, programs)


# -- the account -------------------------------------------------------------

@dataclass(frozen=True)
class Validity:
    valid_from: date
    valid_until: date  # inclusive, to the end of the day in Asia/Shanghai

    @property
    def ends_at(self) -> datetime:
        return end_of_day(self.valid_until)

    @property
    def starts_at(self) -> datetime:
        return start_of_day(self.valid_from)


def validity_from(activated_at: datetime) -> Validity:
    start = program_date(activated_at)
    return Validity(start, add_months(start, VALIDITY_MONTHS))


def has_expired(valid_until: date, now: datetime) -> bool:
    """Valid through 23:59:59.999999 of valid_until in Asia/Shanghai; expired the next instant.
    Equivalently the program day of `now` is after valid_until (what the timer selects on)."""
    return now > end_of_day(valid_until)


class AccountNotActive(RuleViolation):
    slug = "account-not-active"
    title = "The learning account is not active"


class ExtensionRefused(RuleViolation):
    slug = "extension-refused"
    title = "The account cannot be extended so"


def repeats_extension(last_until: date | None, last_reason: str | None, new_until: date, reason: str) -> bool:
    """The extension that set the current last day, asked again (a lost response):
    answered with the account, not refused as not moving the day later."""
    return last_until == new_until and last_reason == reason


def extend(validity: Validity, status: str, new_until: date, now: datetime) -> Validity:
    """An administrator moves the last day of an account that is still running later.
    An account that has expired, or was closed, stays so: the learner enrolls again."""
    if status != "active" or has_expired(validity.valid_until, now):
        state = status if status != "active" else "expired"
        raise AccountNotActive(f"the account is {state}; only a running account can be extended",
                               rules=[{"rule": "ACCOUNT_NOT_ACTIVE",
                                       "message": f"the account is {state}"}])
    if new_until <= validity.valid_until:
        raise ExtensionRefused(f"the new last day {new_until.isoformat()} is not after the current "
                               f"one {validity.valid_until.isoformat()}",
                               rules=[{"rule": "NOT_LATER", "message": "an extension moves the last day later"}])
    return Validity(validity.valid_from, new_until)


class ProgressRefused(RuleViolation):
    slug = "progress-refused"
    title = "This study time cannot be recorded"


class CourseNotInProgram(InvalidInput):
    slug = "course-not-in-program"
    title = "The course is not part of the learner's program"


def check_session(validity: Validity, status: str, started_at: datetime, now: datetime) -> None:
    """Progress is accepted only inside the account's validity, never from the future."""
    if status != "active":
        raise ProgressRefused(f"the learning account is {status}", rules=[
            {"rule": "ACCOUNT_NOT_ACTIVE", "message": f"the account is {status}"}])
    if started_at > now + CLOCK_SKEW:
        raise ProgressRefused("the session starts in the future", rules=[
            {"rule": "SESSION_IN_FUTURE", "message": "a session cannot start after now"}])
    if started_at < validity.starts_at:
        raise ProgressRefused("the session started before the account was activated", rules=[
            {"rule": "BEFORE_ACTIVATION",
             "message": f"the account is valid from {validity.valid_from.isoformat()}"}])
    if has_expired(validity.valid_until, started_at) or now > validity.ends_at + CLOCK_SKEW:
        raise ProgressRefused(f"the account expired at the end of {validity.valid_until.isoformat()}",
                              rules=[{"rule": "ACCOUNT_EXPIRED",
                                      "message": "no study is accepted after the account's validity"}])


@dataclass(frozen=True)
class CapDecision:
    accepted: int
    refused: int
    reason: str | None


def apply_daily_cap(already_today: int, minutes: int, cap: int) -> CapDecision:
    """What a person can physically watch in a day counts; the rest is refused, on record."""
    room = max(cap - already_today, 0)
    accepted = min(minutes, room)
    refused = minutes - accepted
    reason = (f"daily study cap of {cap} minutes reached ({already_today} already recorded today)"
              if refused else None)
    return CapDecision(accepted, refused, reason)


def study_day(started_at: datetime) -> date:
    """A session counts toward the Asia/Shanghai day it started on."""
    return program_date(started_at)


@dataclass
class Progress:
    """Minutes studied per course of one account."""
    minutes: dict[str, int] = field(default_factory=dict)

    def complete(self, catalog: Catalog, code: str) -> bool:
        return self.minutes.get(code, 0) >= catalog.minutes_required(code)

    def coursework_complete(self, catalog: Catalog, level: str) -> bool:
        return all(self.complete(catalog, c) for c in catalog.program(level))

    def class_hours_by_category(self, catalog: Catalog, level: str) -> dict[str, int]:
        hours: dict[str, int] = {}
        for code in catalog.program(level):
            if self.complete(catalog, code):
                course = catalog.courses[code]
                hours[course.category] = hours.get(course.category, 0) + course.class_hours
        return hours
