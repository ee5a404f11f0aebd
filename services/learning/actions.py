"""What learning does, one function per action or event, over a transaction."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from shared.contracts import learning as events
from shared.errors import NotFound
from shared.messaging.consumer import Defer

from . import catalogs, domain
from .models import Account, CourseProgress, Learner, StudySession


def record_learner(tx, event) -> None:
    data = event.data
    if tx.session.get(Learner, data["enrollment_id"]) is None:
        tx.session.add(Learner(enrollment_id=data["enrollment_id"], learner_id=data["learner_id"],
                               level=data["level"], full_name=data["full_name"],
                               base_code=data["base_code"]))


def open_account(tx, event) -> None:
    """Payment opens one account per enrollment (the unique enrollment_id refuses a
    second), on the current catalog version, valid six calendar months."""
    data = event.data
    learner = tx.session.get(Learner, data["enrollment_id"])
    if learner is None:
        raise Defer(f"enrollment {data['enrollment_id']} not yet known to learning")
    catalog = catalogs.current()
    validity = domain.validity_from(data["paid_at"])
    account = Account(account_id=uuid.uuid4(), enrollment_id=learner.enrollment_id,
                      learner_id=learner.learner_id, level=learner.level, base_code=learner.base_code,
                      catalog_version=catalog.version, valid_from=validity.valid_from,
                      valid_until=validity.valid_until, status="active", opened_at=event.occurred_at)
    tx.session.add(account)
    tx.emit(events.AccountOpened, {
        "account_id": account.account_id, "enrollment_id": account.enrollment_id,
        "learner_id": account.learner_id, "level": account.level,
        "catalog_version": account.catalog_version, "valid_from": account.valid_from,
        "valid_until": account.valid_until, "opened_at": event.occurred_at})


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
    return principal.role in ("admin", "operator")


def _progress(session, account: Account) -> dict[str, CourseProgress]:
    return {p.course_code: p for p in session.scalars(
        select(CourseProgress).where(CourseProgress.account_id == account.account_id))}


def report_study(tx, enrollment_id, principal, report: dict, daily_cap: int, now: datetime) -> dict:
    session = tx.session
    account = _account_for(session, enrollment_id, principal, lock=True)  # one report at a time
    seen = session.scalar(select(StudySession).where(StudySession.account_id == account.account_id,
                                                     StudySession.session_id == report["session_id"]))
    catalog = catalogs.version(account.catalog_version)
    if seen is not None:  # the player resent it: the same answer, counted once
        return _study_answer(session, account, catalog, seen)
    code = report["course_code"]
    if code not in catalog.program(account.level):
        raise domain.CourseNotInProgram(f"course {code} is not in the {account.level} program "
                                        f"of catalog {catalog.version}",
                                        errors={"course_code": ["not in the learner's program"]})
    validity = domain.Validity(account.valid_from, account.valid_until)
    domain.check_session(validity, account.status, report["started_at"], now)
    day = domain.study_day(report["started_at"])
    already = session.scalar(select(func.coalesce(func.sum(StudySession.minutes_accepted), 0)).where(
        StudySession.learner_id == account.learner_id, StudySession.study_day == day))
    decision = domain.apply_daily_cap(already, report["minutes"], daily_cap)
    row = StudySession(account_id=account.account_id, learner_id=account.learner_id,
                       session_id=report["session_id"], course_code=code,
                       started_at=report["started_at"], study_day=day,
                       minutes_reported=report["minutes"], minutes_accepted=decision.accepted,
                       minutes_refused=decision.refused, refusal_reason=decision.reason, recorded_at=now)
    session.add(row)
    progress = _progress(session, account)
    course = progress.get(code)
    if course is None:
        course = CourseProgress(account_id=account.account_id, course_code=code, minutes=0)
        session.add(course)
        progress[code] = course
    course.minutes += decision.accepted
    if course.completed_at is None and course.minutes >= catalog.minutes_required(code):
        course.completed_at = now
    _complete_coursework_once(tx, account, catalog, progress, now)
    return _study_answer(session, account, catalog, row)


def _complete_coursework_once(tx, account, catalog, progress, now) -> None:
    state = domain.Progress({c: p.minutes for c, p in progress.items()})
    if account.completed_at is not None or not state.coursework_complete(catalog, account.level):
        return
    account.completed_at = now
    by_category = state.class_hours_by_category(catalog, account.level)
    tx.emit(events.CourseCompleted, {
        "account_id": account.account_id, "enrollment_id": account.enrollment_id,
        "learner_id": account.learner_id, "level": account.level,
        "catalog_version": catalog.version, "class_hours_by_category": by_category,
        "total_class_hours": sum(by_category.values()), "completed_at": now,
    }, correlation_id=account.enrollment_id)


def _study_answer(session, account, catalog, row: StudySession) -> dict:
    progress = _progress(session, account)
    minutes = progress[row.course_code].minutes if row.course_code in progress else 0
    return {"session_id": row.session_id, "course_code": row.course_code,
            "accepted_minutes": row.minutes_accepted, "refused_minutes": row.minutes_refused,
            "refusal_reason": row.refusal_reason, "course_minutes": minutes,
            "course_complete": minutes >= catalog.minutes_required(row.course_code),
            "coursework_complete": account.completed_at is not None}


def account_view(session, enrollment_id, principal) -> dict:
    account = _account_for(session, enrollment_id, principal)
    catalog = catalogs.version(account.catalog_version)
    progress = _progress(session, account)
    required = set(catalog.program(account.level))
    courses, categories = [], {}
    for code in catalog.program(account.level):
        course = catalog.courses[code]
        studied = progress[code].minutes if code in progress else 0
        done = studied >= catalog.minutes_required(code)
        courses.append({"code": code, "title_zh": course.title_zh, "title_en": course.title_en,
                        "category": course.category, "class_hours": course.class_hours,
                        "required": code in required, "minutes_studied": studied,
                        "minutes_required": catalog.minutes_required(code), "complete": done})
        totals = categories.setdefault(course.category, {"class_hours_required": 0,
                                                         "class_hours_completed": 0})
        totals["class_hours_required"] += course.class_hours
        totals["class_hours_completed"] += course.class_hours if done else 0
    return {**{c.key: getattr(account, c.key) for c in Account.__table__.columns},
            "coursework_complete": account.completed_at is not None,
            "courses": courses, "categories": categories}


def catalog_view(catalog) -> dict:
    return {"version": catalog.version, "minutes_per_class_hour": catalog.minutes_per_class_hour,
            "courses": list(catalog.courses.values()),
            "programs": {level: list(codes) for level, codes in catalog.programs.items()}}
