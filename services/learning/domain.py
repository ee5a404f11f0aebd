"""Learning's rules, pure: the catalog, an account's validity, what progress counts.

domain.md, "Study": an account is valid for 6 calendar months from activation
(Asia/Shanghai, end of day; activated Aug 31 -> through Feb 28/29); study time is
capped per day, and only time a learner could really have spent counts (no more
than has passed since a session started, never twice for overlapping sessions, not
while idle); a course completes at its class hours; the coursework completes when
every required course of the level's program has.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from shared.calendar import add_months, end_of_day, program_date, start_of_day
from shared.errors import Conflict, InvalidInput, RuleViolation

VALIDITY_MONTHS = 6
FOUNDATION_COURSES = 10
PROFESSIONAL_COURSES = 37
PROFESSIONAL_CATEGORIES = ("monitoring", "accounting", "verification", "trading",
                           "consulting_management")
PROGRAM_HOURS = (80, 120)
# How far a player's clock may run ahead of ours (and its minutes round up): a session
# may start this far in the future and report this much more than has passed since it
# started. STUDY_CLOCK_ALLOWANCE_MINUTES sets it; only the development profile may lift
# it beyond PRODUCTION_MAX_CLOCK_ALLOWANCE_MINUTES (the demo studies a curriculum in seconds).
CLOCK_ALLOWANCE = timedelta(minutes=2)
PRODUCTION_MAX_CLOCK_ALLOWANCE_MINUTES = 10
# A gap between a live session's heartbeats longer than this is idle time, not counted.
IDLE_LIMIT = timedelta(minutes=10)
# Time counted once: a session's minutes not covered by the learner's other sessions
# are counted in whole minutes, rounded down except for the last few seconds (a
# player's heartbeat timing jitters).
OVERLAP_TOLERANCE = timedelta(seconds=5)
# The longest a reported session may be (the report's schema), and so how far back
# its overlap with another is looked for.
MAX_REPORTED_MINUTES = 600


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


def check_session(validity: Validity, status: str, started_at: datetime, now: datetime,
                  allowance: timedelta = CLOCK_ALLOWANCE) -> None:
    """Progress is accepted only inside the account's validity, never from the future."""
    if status != "active":
        raise ProgressRefused(f"the learning account is {status}", rules=[
            {"rule": "ACCOUNT_NOT_ACTIVE", "message": f"the account is {status}"}])
    if started_at > now + allowance:
        raise ProgressRefused("the session starts in the future", rules=[
            {"rule": "SESSION_IN_FUTURE", "message": "a session cannot start after now"}])
    if started_at < validity.starts_at:
        raise ProgressRefused("the session started before the account was activated", rules=[
            {"rule": "BEFORE_ACTIVATION",
             "message": f"the account is valid from {validity.valid_from.isoformat()}"}])
    if has_expired(validity.valid_until, started_at) or now > validity.ends_at + allowance:
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


# -- study time a learner could really have spent -------------------------------

Interval = tuple[datetime, datetime]  # [start, end) of a session's time


@dataclass(frozen=True)
class Refusal:
    """Minutes not credited, with the rule and a sentence the learner understands."""
    rule: str
    minutes: int
    message: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "minutes": self.minutes, "message": self.message}


@dataclass(frozen=True)
class TimeCredit:
    """What a report (or a live session's heartbeat) may credit before the daily cap.
    `interval` is the time the session claims, which later sessions may not claim again."""
    minutes: int
    interval: Interval
    refusals: tuple[Refusal, ...] = ()


def _minutes(span: timedelta) -> int:
    return max(int(span.total_seconds() // 60), 0)


def covered(start: datetime, end: datetime, others: list[Interval]) -> timedelta:
    """How much of [start, end) the other intervals cover (each instant once)."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in others if a < end and b > start)
    total, reach = timedelta(0), start
    for a, b in clipped:
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total


def uncovered_minutes(start: datetime, end: datetime, others: list[Interval]) -> int:
    """Whole minutes of [start, end) no other session claims; the last OVERLAP_TOLERANCE
    of a minute rounds up."""
    free = (end - start) - covered(start, end, others)
    return _minutes(free + OVERLAP_TOLERANCE)


def credit_report(started_at: datetime, now: datetime, minutes: int, others: list[Interval],
                  allowance: timedelta = CLOCK_ALLOWANCE) -> TimeCredit:
    """A reported session: no more minutes than have passed since it started (plus the
    clock allowance), and none the learner's other sessions already claim."""
    possible = _minutes(now + allowance - started_at)
    fitted = min(minutes, possible)
    refusals = []
    if fitted < minutes:
        refusals.append(Refusal("LONGER_THAN_ELAPSED", minutes - fitted, (
            f"the session reports {minutes} minutes but only {possible} can have passed since it "
            f"started (with {_minutes(allowance)} minutes of clock allowance)")))
    interval = (started_at, started_at + timedelta(minutes=fitted))
    credited = min(fitted, uncovered_minutes(*interval, others))
    if credited < fitted:
        refusals.append(Refusal("OVERLAPPING_SESSION", fitted - credited, (
            f"{fitted - credited} minutes overlap the learner's other study sessions; "
            "time is counted once")))
    return TimeCredit(credited, interval, tuple(refusals))


@dataclass(frozen=True)
class LiveSession:
    """A session the platform knows as started, kept alive and ended: the time between
    heartbeats counts, except gaps longer than the idle limit and time the learner's
    other sessions claim. Seconds accumulate; whole minutes are credited as they fill."""
    started_at: datetime
    last_beat_at: datetime
    active_seconds: int = 0
    idle_seconds: int = 0
    overlapped_seconds: int = 0
    credited_minutes: int = 0  # passed on to the daily cap so far


class SessionEnded(Conflict):
    slug = "session-ended"
    title = "The study session has ended"


def already_ended(ended_at: datetime | None, ending: bool) -> bool:
    """True: the session ended before and is being ended again (answered as it is). A
    heartbeat after the end is refused: the player starts a new session."""
    if ended_at is None:
        return False
    if not ending:
        raise SessionEnded(f"the study session ended at {ended_at.isoformat()}; start a new one")
    return True


def start_live(now: datetime) -> LiveSession:
    return LiveSession(started_at=now, last_beat_at=now)


def heartbeat(live: LiveSession, at: datetime, others: list[Interval],
              idle_limit: timedelta = IDLE_LIMIT) -> tuple[LiveSession, TimeCredit]:
    """A heartbeat (or the end) at `at`: the gap since the last one counts if it is not
    longer than the idle limit, less what other sessions claim. The credit is the whole
    minutes newly filled; its interval is the gap."""
    at = max(at, live.last_beat_at)  # a late duplicate adds nothing
    gap = at - live.last_beat_at
    refusals = []
    if gap > idle_limit:
        live = replace(live, last_beat_at=at, idle_seconds=live.idle_seconds + round(gap.total_seconds()))
        refusals.append(Refusal("IDLE", _minutes(gap), (
            f"{_minutes(gap)} minutes without a heartbeat (longer than the idle limit of "
            f"{_minutes(idle_limit)} minutes) are idle time, not counted")))
    else:
        overlap = covered(live.last_beat_at, at, others)
        live = replace(live, last_beat_at=at,
                       active_seconds=live.active_seconds + round((gap - overlap).total_seconds()),
                       overlapped_seconds=live.overlapped_seconds + round(overlap.total_seconds()))
        if overlap >= timedelta(minutes=1):
            refusals.append(Refusal("OVERLAPPING_SESSION", _minutes(overlap), (
                f"{_minutes(overlap)} minutes overlap the learner's other study sessions; "
                "time is counted once")))
    filled = _minutes(timedelta(seconds=live.active_seconds) + OVERLAP_TOLERANCE)
    credit = max(filled - live.credited_minutes, 0)
    live = replace(live, credited_minutes=live.credited_minutes + credit)
    return live, TimeCredit(credit, (at - gap, at), tuple(refusals))


def credit_heartbeats(started_at: datetime, beats: list[datetime], others: list[Interval],
                      idle_limit: timedelta = IDLE_LIMIT) -> tuple[int, list[Refusal]]:
    """A whole live session at once (what the heartbeats credit one by one)."""
    live, refusals = start_live(started_at), []
    for at in beats:
        live, credit = heartbeat(live, at, others, idle_limit)
        refusals += credit.refusals
    return live.credited_minutes, refusals


@dataclass(frozen=True)
class StudyDecision:
    accepted: int
    refused: int
    refusals: tuple[Refusal, ...]

    @property
    def reason(self) -> str | None:
        return "; ".join(r.message for r in self.refusals)[:300] or None


def decide(credit: TimeCredit, already_today: int, cap: int) -> StudyDecision:
    """The time credit, then the daily cap: every refused minute with its reason."""
    capped = apply_daily_cap(already_today, credit.minutes, cap)
    refusals = list(credit.refusals)
    if capped.refused:
        refusals.append(Refusal("DAILY_CAP", capped.refused, capped.reason))
    return StudyDecision(capped.accepted, sum(r.minutes for r in refusals), tuple(refusals))


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
