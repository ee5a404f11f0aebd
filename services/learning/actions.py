"""What learning does, one function per action or event, over a transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from shared.calendar import program_date
from shared.contracts import learning as events
from shared.errors import NotFound
from shared.messaging.consumer import Defer

from . import catalogs, domain
from .models import (Account, AccountExtension, CourseProgress, Learner, LiveStudySession, StudyDay,
                     StudySession)


@dataclass(frozen=True)
class StudyRules:
    """What the settings make of the study rules (domain.py has the defaults)."""
    daily_cap: int = 480
    allowance: timedelta = domain.CLOCK_ALLOWANCE
    idle_limit: timedelta = domain.IDLE_LIMIT


def record_learners(tx, enrolled: list) -> None:
    """Learning's projection of enrollments (whose account a payment opens)."""
    tx.insert_absent(Learner, [{
        "enrollment_id": e.data["enrollment_id"], "learner_id": e.data["learner_id"], "level": e.data["level"],
        "full_name": e.data["full_name"], "base_code": e.data["base_code"]} for e in enrolled],
        key="enrollment_id")


def open_accounts(tx, paid: list) -> None:
    """Payment opens one account per enrollment (the unique enrollment_id refuses a
    second), on the current catalog version, valid six calendar months from the day
    billing recognised the payment (the event's occurred_at). A batch reads its
    learners and the catalog once and inserts its accounts at once."""
    wanted = {event.data["enrollment_id"] for event in paid}
    learners = {row.enrollment_id: row for row in tx.session.scalars(
        select(Learner).where(Learner.enrollment_id.in_(wanted)))}
    unknown = wanted - learners.keys()
    if unknown:  # alone, the event that came too early is retried; the others go on
        raise Defer(f"enrollment {next(iter(unknown))} not yet known to learning")
    catalog = catalogs.current(tx.session)
    accounts = []
    for event in paid:
        learner = learners[event.data["enrollment_id"]]
        validity = domain.validity_from(event.occurred_at)
        account = dict(account_id=uuid.uuid4(), enrollment_id=learner.enrollment_id,
                       learner_id=learner.learner_id, level=learner.level, base_code=learner.base_code,
                       catalog_version=catalog.version, valid_from=validity.valid_from,
                       valid_until=validity.valid_until, status="active", opened_at=event.occurred_at)
        accounts.append(account)
        tx.caused_by(event).emit(events.AccountOpened, {
            "account_id": account["account_id"], "enrollment_id": account["enrollment_id"],
            "learner_id": account["learner_id"], "level": account["level"],
            "catalog_version": account["catalog_version"], "valid_from": account["valid_from"],
            "valid_until": account["valid_until"], "opened_at": event.occurred_at})
    tx.insert_rows(Account, accounts)


def close_account(tx, event) -> None:
    """A refund closes the account for good. A refund can overtake the payment on its
    way here: wait for the account (Defer) rather than forget the refund."""
    data = event.data
    account = tx.session.scalar(select(Account).where(Account.enrollment_id == data["enrollment_id"])
                                .with_for_update())
    if account is None:
        raise Defer(f"no account yet for refunded enrollment {data['enrollment_id']}")
    if account.status == "closed":
        return
    account.status, account.closed_at = "closed", data["refunded_at"]
    account.closed_reason = f"refunded: {data['reason']}"[:300]


def _account_for(session, enrollment_id, principal, lock=False) -> Account:
    stmt = select(Account).where(Account.enrollment_id == enrollment_id)
    account = session.scalar(stmt.with_for_update() if lock else stmt)
    if account is None or not _may_see(account, principal):
        raise NotFound(f"no learning account for enrollment {enrollment_id}")
    return account


def _may_see(account: Account, principal) -> bool:
    if principal.role == "learner":
        return str(account.learner_id) == principal.subject
    if principal.role == "base_operator":
        return account.base_code == principal.base
    return principal.role == "admin"


def _progress(session, account: Account) -> dict[str, CourseProgress]:
    return {p.course_code: p for p in session.scalars(
        select(CourseProgress).where(CourseProgress.account_id == account.account_id))}


ACCOUNTS, SESSIONS, DAYS, COURSES, LIVE = (Account.__table__, StudySession.__table__, StudyDay.__table__,
                                           CourseProgress.__table__, LiveStudySession.__table__)


@lru_cache(maxsize=None)
def _statements(dialect: str) -> SimpleNamespace:
    """The progress report's statements, built once per dialect: constructing them is
    a good part of a report's cost, executing a cached compiled form is cheap."""
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tally = upsert(DAYS)
    course = upsert(COURSES)
    return SimpleNamespace(
        account=select(ACCOUNTS).where(ACCOUNTS.c.enrollment_id == bindparam("enrollment_id"))
        .with_for_update(),
        seen=select(SESSIONS).where(SESSIONS.c.account_id == bindparam("account_id"),
                                    SESSIONS.c.session_id == bindparam("session_id")),
        course_minutes=select(COURSES.c.minutes).where(COURSES.c.account_id == bindparam("account_id"),
                                                       COURSES.c.course_code == bindparam("course_code")),
        tally=select(DAYS.c.minutes_accepted).where(DAYS.c.learner_id == bindparam("learner_id"),
                                                    DAYS.c.study_day == bindparam("study_day"))
        .with_for_update(),
        add_to_tally=tally.on_conflict_do_update(
            index_elements=[DAYS.c.learner_id, DAYS.c.study_day],
            set_={"minutes_accepted": DAYS.c.minutes_accepted + tally.excluded.minutes_accepted,
                  "minutes_refused": DAYS.c.minutes_refused + tally.excluded.minutes_refused}),
        record_session=insert(SESSIONS),
        # The learner's other sessions that may share time with [start, end): reported
        # ones are at most MAX_REPORTED_MINUTES long, live ones claim up to their last beat.
        reported_near=select(SESSIONS.c.started_at, SESSIONS.c.ended_at, SESSIONS.c.minutes_accepted)
        .where(SESSIONS.c.learner_id == bindparam("learner_id"),
               SESSIONS.c.started_at >= bindparam("earliest"), SESSIONS.c.started_at < bindparam("end")),
        live_near=select(LIVE.c.started_at, LIVE.c.last_beat_at)
        .where(LIVE.c.learner_id == bindparam("learner_id"), LIVE.c.last_beat_at > bindparam("start"),
               LIVE.c.started_at < bindparam("end"), LIVE.c.session_id != bindparam("own")),
        add_to_course=course.on_conflict_do_update(
            index_elements=[COURSES.c.account_id, COURSES.c.course_code],
            set_={"minutes": COURSES.c.minutes + course.excluded.minutes})
        .returning(COURSES.c.minutes, COURSES.c.completed_at),
    )


def _other_sessions(session, sql, learner_id, start: datetime, end: datetime,
                    own_live: uuid.UUID | None = None) -> list[domain.Interval]:
    """The time the learner's other sessions (of any of their accounts) claim near [start, end)."""
    earliest = start - timedelta(minutes=domain.MAX_REPORTED_MINUTES)
    claimed = [(row.started_at, row.ended_at or row.started_at + timedelta(minutes=row.minutes_accepted))
               for row in session.execute(sql.reported_near, {"learner_id": learner_id, "earliest": earliest,
                                                              "end": end})]
    claimed += [(row.started_at, row.last_beat_at) for row in session.execute(sql.live_near, {
        "learner_id": learner_id, "start": start, "end": end, "own": own_live or uuid.UUID(int=0)})]
    return claimed


def _account_to_study(session, sql, enrollment_id, principal):
    account = session.execute(sql.account, {"enrollment_id": enrollment_id}).one_or_none()
    if account is None or not _may_see(account, principal):
        raise NotFound(f"no learning account for enrollment {enrollment_id}")
    return account


def _check_course(account, catalog, code: str) -> None:
    if code not in catalog.program(account.level):
        raise domain.CourseNotInProgram(f"course {code} is not in the {account.level} program "
                                        f"of catalog {catalog.version}",
                                        errors={"course_code": ["not in the learner's program"]})


def _decide(session, sql, account, credit: domain.TimeCredit, rules: StudyRules):
    """The daily cap on a time credit, counted to the learner's day tally."""
    day = domain.study_day(credit.interval[0])
    already = session.scalar(sql.tally, {"learner_id": account.learner_id, "study_day": day}) or 0
    decision = domain.decide(credit, already, rules.daily_cap)
    if decision.accepted or decision.refused:
        session.execute(sql.add_to_tally, {"learner_id": account.learner_id, "study_day": day,
                                           "minutes_accepted": decision.accepted,
                                           "minutes_refused": decision.refused})
    return day, decision


def _add_to_course(tx, sql, account, catalog, code: str, accepted: int, started_at, now) -> tuple[int, bool]:
    """Accepted minutes onto the course; study-started once; the completion gate."""
    session = tx.session
    minutes, completed_at = session.execute(sql.add_to_course, {
        "account_id": account.account_id, "course_code": code, "minutes": accepted}).one()
    if accepted and account.study_started_at is None:
        _start_study_once(tx, account, started_at)
    coursework_complete = account.completed_at is not None
    if completed_at is None and minutes >= catalog.minutes_required(code):
        session.execute(update(COURSES).where(COURSES.c.account_id == account.account_id,
                                              COURSES.c.course_code == code).values(completed_at=now))
        coursework_complete = coursework_complete or _complete_coursework_once(tx, account, catalog, now)
    return minutes, coursework_complete


def report_study(tx, enrollment_id, principal, report: dict, rules: StudyRules, now: datetime) -> dict:
    """One session report (a heartbeat is a one-minute report with its own session id).

    It runs ~330 times a second at the exam-month peak, so it is prepared Core
    statements: the account (locked: one report of an account at a time), the session
    id, the learner's sessions near its time, the learner's day tally (read, then added
    to), the session row, the course's minutes (added to, read back). Only a course
    that has just completed reads the whole program."""
    session = tx.session
    sql = _statements(session.get_bind().dialect.name)
    account = _account_to_study(session, sql, enrollment_id, principal)
    catalog = catalogs.version(session, account.catalog_version)
    seen = session.execute(sql.seen, {"account_id": account.account_id,
                                      "session_id": report["session_id"]}).one_or_none()
    if seen is not None:  # the player resent it: the same answer, counted once
        minutes = session.scalar(sql.course_minutes, {"account_id": account.account_id,
                                                      "course_code": seen.course_code}) or 0
        return _study_answer(account, catalog, seen, minutes)
    code, started_at = report["course_code"], report["started_at"]
    _check_course(account, catalog, code)
    validity = domain.Validity(account.valid_from, account.valid_until)
    domain.check_session(validity, account.status, started_at, now, rules.allowance)
    reach = started_at + timedelta(minutes=report["minutes"])
    others = _other_sessions(session, sql, account.learner_id, started_at, reach)
    credit = domain.credit_report(started_at, now, report["minutes"], others, rules.allowance)
    day, decision = _decide(session, sql, account, credit, rules)
    row = {"account_id": account.account_id, "learner_id": account.learner_id,
           "session_id": report["session_id"], "course_code": code, "started_at": started_at,
           "ended_at": credit.interval[1], "study_day": day, "minutes_reported": report["minutes"],
           "minutes_accepted": decision.accepted, "minutes_refused": decision.refused,
           "refusal_reason": decision.reason, "refusals": [r.as_dict() for r in decision.refusals],
           "recorded_at": now}
    session.execute(sql.record_session, row)
    minutes, coursework_complete = _add_to_course(tx, sql, account, catalog, code, decision.accepted,
                                                  started_at, now)
    return _study_answer(account, catalog, SimpleNamespace(**row), minutes, coursework_complete)


def start_live_session(tx, enrollment_id, principal, body: dict, rules: StudyRules, now: datetime) -> dict:
    """A live session of a course starts now (the platform's clock, not the player's)."""
    session = tx.session
    sql = _statements(session.get_bind().dialect.name)
    account = _account_to_study(session, sql, enrollment_id, principal)
    catalog = catalogs.version(session, account.catalog_version)
    _check_course(account, catalog, body["course_code"])
    domain.check_session(domain.Validity(account.valid_from, account.valid_until), account.status, now, now,
                         rules.allowance)
    live = domain.start_live(now)
    row = LiveStudySession(session_id=uuid.uuid4(), account_id=account.account_id,
                           learner_id=account.learner_id, course_code=body["course_code"],
                           started_at=live.started_at, last_beat_at=live.last_beat_at, heartbeats=0,
                           active_seconds=0, idle_seconds=0, overlapped_seconds=0, credited_minutes=0,
                           minutes_accepted=0, minutes_refused=0, refused_by_rule={}, last_refusals=[])
    session.add(row)
    session.flush()
    minutes = session.scalar(sql.course_minutes, {"account_id": account.account_id,
                                                  "course_code": row.course_code}) or 0
    return _live_answer(account, catalog, row, minutes)


def beat_live_session(tx, enrollment_id, session_id, principal, rules: StudyRules, now: datetime,
                      end: bool = False) -> dict:
    """A heartbeat (or the end) of a live session: the time since the last one is
    credited unless idle or claimed by another session, then the daily cap."""
    session = tx.session
    sql = _statements(session.get_bind().dialect.name)
    account = _account_to_study(session, sql, enrollment_id, principal)
    catalog = catalogs.version(session, account.catalog_version)
    row = session.scalar(select(LiveStudySession).where(LiveStudySession.session_id == session_id,
                                                        LiveStudySession.account_id == account.account_id)
                         .with_for_update())
    if row is None:
        raise NotFound(f"no study session {session_id} of enrollment {enrollment_id}")
    if domain.already_ended(row.ended_at, end):
        minutes = session.scalar(sql.course_minutes, {"account_id": account.account_id,
                                                      "course_code": row.course_code}) or 0
        return _live_answer(account, catalog, row, minutes)
    domain.check_session(domain.Validity(account.valid_from, account.valid_until), account.status,
                         row.started_at, now, rules.allowance)
    before = domain.LiveSession(row.started_at, row.last_beat_at, row.active_seconds, row.idle_seconds,
                                row.overlapped_seconds, row.credited_minutes)
    others = _other_sessions(session, sql, account.learner_id, row.last_beat_at, now, own_live=row.session_id)
    after, credit = domain.heartbeat(before, now, others, rules.idle_limit)
    _, decision = _decide(session, sql, account, credit, rules)
    by_rule = dict(row.refused_by_rule or {})
    for refusal in decision.refusals:
        by_rule[refusal.rule] = by_rule.get(refusal.rule, 0) + refusal.minutes
    row.last_beat_at, row.active_seconds, row.idle_seconds = after.last_beat_at, after.active_seconds, after.idle_seconds
    row.overlapped_seconds, row.credited_minutes = after.overlapped_seconds, after.credited_minutes
    row.heartbeats += 1
    row.minutes_accepted += decision.accepted
    row.minutes_refused += decision.refused
    row.refused_by_rule, row.last_refusals = by_rule, [r.as_dict() for r in decision.refusals]
    if end:
        row.ended_at = after.last_beat_at
    session.flush()
    minutes, coursework_complete = _add_to_course(tx, sql, account, catalog, row.course_code,
                                                  decision.accepted, row.started_at, now)
    return _live_answer(account, catalog, row, minutes, coursework_complete)


def live_session_view(session, enrollment_id, session_id, principal) -> dict:
    account = _account_for(session, enrollment_id, principal)
    row = session.get(LiveStudySession, session_id)
    if row is None or row.account_id != account.account_id:
        raise NotFound(f"no study session {session_id} of enrollment {enrollment_id}")
    catalog = catalogs.version(session, account.catalog_version)
    minutes = _progress(session, account).get(row.course_code)
    return _live_answer(account, catalog, row, minutes.minutes if minutes else 0)


def _live_answer(account, catalog, row, course_minutes: int, coursework_complete: bool | None = None) -> dict:
    if coursework_complete is None:
        coursework_complete = account.completed_at is not None
    return {"session_id": row.session_id, "enrollment_id": account.enrollment_id,
            "course_code": row.course_code, "status": "ended" if row.ended_at else "open",
            "started_at": row.started_at, "last_heartbeat_at": row.last_beat_at, "ended_at": row.ended_at,
            "heartbeats": row.heartbeats, "accepted_minutes": row.minutes_accepted,
            "refused_minutes": row.minutes_refused, "refused_by_rule": row.refused_by_rule or {},
            "refusals": row.last_refusals or [], "course_minutes": course_minutes,
            "course_complete": course_minutes >= catalog.minutes_required(row.course_code),
            "coursework_complete": coursework_complete}


def _start_study_once(tx, account, started_at) -> None:
    """The first accepted study time: from now on a refund needs an override (billing)."""
    tx.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.account_id == account.account_id)
                       .values(study_started_at=started_at))
    tx.emit(events.StudyStarted, {
        "account_id": account.account_id, "enrollment_id": account.enrollment_id,
        "learner_id": account.learner_id, "started_at": started_at,
    }, correlation_id=account.enrollment_id)


def _complete_coursework_once(tx, account, catalog, now) -> bool:
    """The completion gate: every required course complete -> one course-completed.
    Called with the account locked and its completed_at still empty."""
    minutes = dict(tx.session.execute(select(COURSES.c.course_code, COURSES.c.minutes)
                                      .where(COURSES.c.account_id == account.account_id)).all())
    state = domain.Progress(minutes)
    if not state.coursework_complete(catalog, account.level):
        return False
    tx.session.execute(update(ACCOUNTS).where(ACCOUNTS.c.account_id == account.account_id)
                       .values(completed_at=now))
    by_category = state.class_hours_by_category(catalog, account.level)
    tx.emit(events.CourseCompleted, {
        "account_id": account.account_id, "enrollment_id": account.enrollment_id,
        "learner_id": account.learner_id, "level": account.level,
        "catalog_version": catalog.version, "class_hours_by_category": by_category,
        "total_class_hours": sum(by_category.values()), "completed_at": now,
    }, correlation_id=account.enrollment_id)
    return True


def _study_answer(account, catalog, row, course_minutes: int, coursework_complete: bool | None = None) -> dict:
    if coursework_complete is None:
        coursework_complete = account.completed_at is not None
    return {"session_id": row.session_id, "course_code": row.course_code,
            "accepted_minutes": row.minutes_accepted, "refused_minutes": row.minutes_refused,
            "refusal_reason": row.refusal_reason, "refusals": _refusals(row),
            "course_minutes": course_minutes,
            "course_complete": course_minutes >= catalog.minutes_required(row.course_code),
            "coursework_complete": coursework_complete}


def _refusals(row) -> list[dict]:
    """A session's refusals (recorded before they were kept: the reason, unnamed)."""
    if getattr(row, "refusals", None) is not None:
        return row.refusals
    if row.minutes_refused:
        return [{"rule": "DAILY_CAP", "minutes": row.minutes_refused, "message": row.refusal_reason or ""}]
    return []


def extend_account(tx, enrollment_id, principal, body: dict, now: datetime) -> bool:
    """An administrator's extension, recorded with who and why; enrollment is told.
    False: the same extension again, which changes nothing."""
    account = _account_for(tx.session, enrollment_id, principal, lock=True)
    last = tx.session.scalars(select(AccountExtension).where(AccountExtension.account_id == account.account_id)
                              .order_by(AccountExtension.id.desc()).limit(1)).first()
    if last is not None and account.valid_until == last.valid_until and domain.repeats_extension(
            last.valid_until, last.reason, body["valid_until"], body["reason"]):
        return False
    before = domain.Validity(account.valid_from, account.valid_until)
    after = domain.extend(before, account.status, body["valid_until"], now)
    tx.session.add(AccountExtension(account_id=account.account_id, previous_valid_until=before.valid_until,
                                    valid_until=after.valid_until, reason=body["reason"],
                                    extended_by=principal.subject, extended_at=now))
    account.valid_until = after.valid_until
    tx.emit(events.AccountExtended, {
        "account_id": account.account_id, "enrollment_id": account.enrollment_id,
        "learner_id": account.learner_id, "previous_valid_until": before.valid_until,
        "valid_until": after.valid_until, "reason": body["reason"], "extended_at": now,
    }, correlation_id=account.enrollment_id)
    return True


def expire_due(tx, now: datetime, limit: int) -> int:
    """The timer's unit: claim up to `limit` active accounts whose last day has passed
    (rows another replica holds are skipped, not waited for), mark them expired, tell
    enrollment. The status change is the idempotency: an expired row is never selected
    again, so no account is expired twice, and one left behind is found by the next run."""
    rows = tx.session.scalars(
        select(Account).where(Account.status == "active",
                              Account.valid_until < program_date(now))
        .order_by(Account.valid_until).limit(limit)
        .with_for_update(skip_locked=True)).all()
    for account in rows:
        if not domain.has_expired(account.valid_until, now):  # the same question, asked of one row
            continue
        account.status, account.expired_at = "expired", now
        tx.emit(events.AccountExpired, {
            "account_id": account.account_id, "enrollment_id": account.enrollment_id,
            "learner_id": account.learner_id, "valid_until": account.valid_until,
            "coursework_complete": account.completed_at is not None, "expired_at": now,
        }, correlation_id=account.enrollment_id)
    return len(rows)


def account_view(session, enrollment_id, principal) -> dict:
    """Validity, status and progress per course and per category, for the learner,
    their base and administrators."""
    account = _account_for(session, enrollment_id, principal)
    catalog = catalogs.version(session, account.catalog_version)
    progress = _progress(session, account)
    courses, categories = [], {}
    for code in catalog.program(account.level):
        course = catalog.courses[code]
        studied = progress[code].minutes if code in progress else 0
        done = studied >= catalog.minutes_required(code)
        courses.append({"code": code, "title_zh": course.title_zh, "title_en": course.title_en,
                        "category": course.category, "class_hours": course.class_hours,
                        "required": True, "minutes_studied": studied,
                        "minutes_required": catalog.minutes_required(code), "complete": done})
        totals = categories.setdefault(course.category, {
            "courses_required": 0, "courses_completed": 0, "class_hours_required": 0,
            "class_hours_completed": 0, "minutes_studied": 0, "minutes_required": 0})
        totals["courses_required"] += 1
        totals["courses_completed"] += done
        totals["class_hours_required"] += course.class_hours
        totals["class_hours_completed"] += course.class_hours if done else 0
        totals["minutes_studied"] += min(studied, catalog.minutes_required(code))
        totals["minutes_required"] += catalog.minutes_required(code)
    extensions = session.scalars(select(AccountExtension).where(
        AccountExtension.account_id == account.account_id).order_by(AccountExtension.id)).all()
    return {**{c.key: getattr(account, c.key) for c in Account.__table__.columns},
            "coursework_complete": account.completed_at is not None,
            "courses": courses, "categories": categories,
            "extensions": [{c.key: getattr(e, c.key) for c in AccountExtension.__table__.columns}
                           for e in extensions]}


def catalog_view(catalog) -> dict:
    return {"version": catalog.version, "minutes_per_class_hour": catalog.minutes_per_class_hour,
            "courses": list(catalog.courses.values()),
            "programs": {level: list(codes) for level, codes in catalog.programs.items()},
            "program_class_hours": {level: catalog.program_hours(level) for level in catalog.programs}}
