"""What exam does, one function per action or event over a transaction: the bank
and calendar set-up, sittings, registration and paid retakes (the paper, its close
and marking are in papers.py)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from shared.calendar import PROGRAM_TZ, program_date
from shared.contracts import exam as events
from shared.errors import Conflict, InvalidInput, NotFound, RuleViolation
from shared.web.pagination import fetch_page, page

from .domain import attempts, exam_calendar, sittings
from .domain.paper import Blueprint, blueprint_from_data
from .models import Candidate, PaidRetake, PublishedMonth, Registration, Sitting

BLUEPRINTS_FILE = Path(__file__).parent / "bank" / "blueprints.yaml"
# -- set-up: the blueprints and the calendar (the bank: question_bank.py) ----------

@lru_cache(maxsize=1)
def blueprints() -> dict[str, Blueprint]:
    """Every version, by name (L4-2026.1); shipped as data, validated on load."""
    data = yaml.safe_load(BLUEPRINTS_FILE.read_text(encoding="utf-8"))["blueprints"]
    return {b.name: b for b in map(blueprint_from_data, data)}


def current_blueprint(level: str) -> Blueprint:
    """The last version written for the level is the one new papers are drawn by."""
    return [b for b in blueprints().values() if b.level == level][-1]


def generate_sittings(session, today: date, months: int, capacity: int, closes_before: timedelta) -> int:
    """The rule's sittings for the coming months; idempotent. A generated sitting
    remembers its rule slot, so one an administrator moved or cancelled is not
    generated again."""
    existing = set(session.scalars(select(func.coalesce(Sitting.rule_slot, Sitting.starts_at))
                                   .where(Sitting.origin == "generated")))
    added = 0
    for slot in sittings.slots_ahead(today, months):
        if slot.starts_at not in existing:
            session.add(Sitting(sitting_id=uuid.uuid4(), starts_at=slot.starts_at, ends_at=slot.ends_at,
                                level="both", capacity=capacity, seats_taken=0,
                                registration_closes_at=slot.starts_at - closes_before,
                                origin="generated", status="scheduled", rule_slot=slot.starts_at))
            added += 1
    return added


# -- sittings ------------------------------------------------------------------

def create_sitting(tx, body: dict, now: datetime) -> tuple[Sitting, bool]:
    """An administrator's temporary adjustment: an extra sitting, 90 minutes long.
    Registration closes at the start unless the administrator admits late
    registration (a make-up sitting), never after the sitting's end. The same
    request again answers the sitting it made (False: not new); another sitting
    at that start and level is a clash naming the one there."""
    starts = body["starts_at"]
    ends = starts + sittings.SLOT_LENGTH
    closes = body["registration_closes_at"] or starts
    there = _scheduled_at(tx.session, starts, body["level"])
    if there is not None:
        return _repeat_or_clash(there, body["capacity"], closes), False
    if ends <= now:
        raise InvalidInput("the sitting would be over already", errors={"starts_at": ["in the past"]})
    if closes > ends:
        raise InvalidInput("registration must close by the sitting's end",
                           errors={"registration_closes_at": ["after the sitting ends"]})
    sitting = Sitting(sitting_id=uuid.uuid4(), starts_at=starts, ends_at=ends,
                      level=body["level"], capacity=body["capacity"], seats_taken=0,
                      registration_closes_at=closes, origin="extra", status="scheduled")
    try:
        with tx.session.begin_nested():
            tx.session.add(sitting)
    except IntegrityError:  # uq_sitting_slot: a concurrent request made it first
        there = _scheduled_at(tx.session, starts, body["level"])
        return _repeat_or_clash(there, body["capacity"], closes), False
    return sitting, True


def _scheduled_at(session, starts: datetime, level: str, other_than=None) -> Sitting | None:
    stmt = select(Sitting).where(Sitting.starts_at == starts, Sitting.level == level,
                                 Sitting.status == "scheduled")
    if other_than is not None:
        stmt = stmt.where(Sitting.sitting_id != other_than)
    return session.scalars(stmt.limit(1)).first()


def _repeat_or_clash(there: Sitting, capacity: int, closes: datetime) -> Sitting:
    if sittings.same_sitting(there.origin, there.capacity, there.registration_closes_at, capacity, closes):
        return there
    raise _clash(there)


def _clash(there: Sitting | None) -> "SittingClash":
    if there is None:  # the sitting that took the slot was changed again meanwhile
        return SittingClash("another sitting of that level starts then")
    return SittingClash(f"the {there.origin} sitting {there.sitting_id} for {there.level} already starts "
                        f"at {there.starts_at.isoformat()}", sitting_id=str(there.sitting_id))


class SittingUnderway(Conflict):
    slug = "sitting-underway"
    title = "A sitting that has begun cannot be changed"


class SittingClash(Conflict):
    slug = "sitting-clash"
    title = "Another sitting of that level already starts then"


def _changeable_sitting(session, sitting_id, now: datetime) -> Sitting:
    sitting = session.get(Sitting, sitting_id, with_for_update=True)
    if sitting is None or sitting.status != "scheduled":
        raise NotFound(f"no scheduled sitting {sitting_id}")
    if now >= sitting.starts_at:
        raise SittingUnderway(f"the sitting began at {sitting.starts_at.isoformat()}")
    return sitting


def _registered_at(session, sitting_id) -> list[Registration]:
    return session.scalars(select(Registration).where(Registration.sitting_id == sitting_id,
                                                      Registration.status == "registered")).all()


def _tell(tx, registration: Registration, change: str, starts_at, previous: datetime, reason: str,
          now: datetime) -> None:
    tx.emit(events.SittingChanged, {
        "registration_id": registration.registration_id, "enrollment_id": registration.enrollment_id,
        "learner_id": registration.learner_id, "sitting_id": registration.sitting_id, "change": change,
        "starts_at": starts_at, "previous_starts_at": previous, "reason": reason, "changed_at": now,
    }, correlation_id=registration.enrollment_id)


def move_sitting(tx, sitting_id, body: dict, now: datetime) -> Sitting:
    """An administrator moves a sitting (a temporary adjustment): it keeps its
    seats and its registrations, which are now at the new time; registration
    closes as long before the new start as before the old one, unless given."""
    sitting = _changeable_sitting(tx.session, sitting_id, now)
    starts = body["starts_at"]
    if starts <= now:
        raise InvalidInput("a sitting is moved to the future", errors={"starts_at": ["in the past"]})
    closes = body["registration_closes_at"] or starts - (sitting.starts_at - sitting.registration_closes_at)
    if closes > starts + sittings.SLOT_LENGTH:
        raise InvalidInput("registration must close by the sitting's end",
                           errors={"registration_closes_at": ["after the sitting ends"]})
    there = _scheduled_at(tx.session, starts, sitting.level, other_than=sitting.sitting_id)
    if there is not None:
        raise _clash(there)
    previous = sitting.starts_at
    try:
        with tx.session.begin_nested():
            sitting.starts_at, sitting.ends_at = starts, starts + sittings.SLOT_LENGTH
            sitting.registration_closes_at = closes
            sitting.change_reason, sitting.changed_at = body["reason"], now
    except IntegrityError:  # uq_sitting_slot: a concurrent change took the slot first
        raise _clash(_scheduled_at(tx.session, starts, sitting.level, other_than=sitting_id)) from None
    for registration in _registered_at(tx.session, sitting.sitting_id):
        _tell(tx, registration, "moved", starts, previous, body["reason"], now)
    return sitting


def cancel_sitting(tx, sitting_id, reason: str, now: datetime) -> Sitting:
    """An administrator cancels a sitting: every registration is released (the
    seat freed, the attempt unused: the candidate registers again)."""
    sitting = _changeable_sitting(tx.session, sitting_id, now)
    sitting.status, sitting.change_reason, sitting.changed_at = "cancelled", reason, now
    tx.session.flush()  # the sitting is closed to registrations before they are read
    for registration in _registered_at(tx.session, sitting.sitting_id):
        registration.status, registration.ended_at = "released", now
        _tell(tx, registration, "released", None, sitting.starts_at, reason, now)
    sitting.seats_taken = 0
    return sitting


def sitting_view(s: Sitting) -> dict:
    return {**{c.key: getattr(s, c.key) for c in Sitting.__table__.columns},
            "seats_left": s.capacity - s.seats_taken}


def upcoming_sittings(session, query: dict, now: datetime) -> dict:
    """A page of the scheduled sittings not over yet, soonest first."""
    stmt = select(Sitting).where(Sitting.status == "scheduled", Sitting.ends_at > now)
    if query.get("level"):
        stmt = stmt.where(Sitting.level.in_((query["level"], "both")))
    rows, total = fetch_page(session, stmt.order_by(Sitting.starts_at, Sitting.sitting_id), query)
    return page([sitting_view(s) for s in rows], total, query)


# -- registration ------------------------------------------------------------------

class CourseworkIncomplete(RuleViolation):
    slug = "coursework-incomplete"
    title = "Coursework must be complete before registering"


class SittingFull(Conflict):
    slug = "sitting-full"
    title = "No seat is left in this sitting"


class RegistrationClosed(Conflict):
    slug = "registration-closed"
    title = "Registration for this sitting has closed"


def record_candidate(tx, event) -> None:
    data = event.data
    if tx.session.get(Candidate, data["enrollment_id"]) is None:
        tx.session.add(Candidate(enrollment_id=data["enrollment_id"], learner_id=data["learner_id"],
                                 level=data["level"], coursework_completed_at=data["completed_at"]))


def register(tx, principal, body: dict, now: datetime) -> tuple[Registration, bool]:
    """A seat for the learner's next attempt; (the registration, whether it is new).
    The same request again answers the open registration (a lost response)."""
    session = tx.session
    candidate = session.get(Candidate, body["enrollment_id"])
    if candidate is not None and str(candidate.learner_id) != principal.subject:
        raise NotFound(f"no enrollment {body['enrollment_id']}")
    if candidate is None:
        raise CourseworkIncomplete("the learner's coursework is not complete (or not yet reported)",
                                   rules=[{"rule": "COURSEWORK_COMPLETE",
                                           "message": "every required course must be complete"}])
    mine = session.scalars(select(Registration).where(Registration.enrollment_id == candidate.enrollment_id)).all()
    held = next((r for r in mine if r.status == "registered"), None)
    if held is not None and held.sitting_id == body["sitting_id"]:
        return held, False  # a repeat, answered even once registration has closed
    sitting = session.get(Sitting, body["sitting_id"])
    if sitting is None or sitting.status != "scheduled":
        raise NotFound(f"no sitting {body['sitting_id']}")
    if sitting.level not in (candidate.level, "both"):
        raise RuleViolation(f"this sitting is for {sitting.level}; the enrollment is {candidate.level}",
                            rules=[{"rule": "SITTING_LEVEL", "message": "the sitting's level must match"}])
    if now > sitting.registration_closes_at:
        raise RegistrationClosed(f"registration closed at {sitting.registration_closes_at.isoformat()}")
    if held is not None:
        attempts.is_repeat(held.registration_id, held.sitting_id, sitting.sitting_id)
    number = attempts.next_attempt(_past_attempts(session, mine), program_date(sitting.starts_at),
                                   _paid_attempts(session, candidate.enrollment_id))
    registration = Registration(registration_id=uuid.uuid4(), enrollment_id=candidate.enrollment_id,
                                learner_id=candidate.learner_id, sitting_id=sitting.sitting_id,
                                level=candidate.level, attempt_number=number, status="registered",
                                registered_at=now, final=False)
    try:
        with session.begin_nested():  # the seat and the registration, or neither
            taken = session.execute(update(Sitting).where(Sitting.sitting_id == sitting.sitting_id,
                                                          Sitting.status == "scheduled",
                                                          Sitting.seats_taken < Sitting.capacity)
                                    .values(seats_taken=Sitting.seats_taken + 1))
            if taken.rowcount != 1:  # the seat is counted in the database, never oversold
                raise SittingFull(f"all {sitting.capacity} seats are taken")
            session.add(registration)
    except IntegrityError:  # a concurrent registration of the same enrollment won (unique indexes)
        held = session.scalars(select(Registration).where(
            Registration.enrollment_id == candidate.enrollment_id, Registration.status == "registered")).first()
        if held is None:
            raise attempts.AlreadyRegistered("the learner registered concurrently") from None
        attempts.is_repeat(held.registration_id, held.sitting_id, body["sitting_id"])
        return held, False
    tx.emit(events.Registered, {
        "registration_id": registration.registration_id, "enrollment_id": registration.enrollment_id,
        "learner_id": registration.learner_id, "sitting_id": sitting.sitting_id, "level": registration.level,
        "attempt_number": number, "starts_at": sitting.starts_at, "ends_at": sitting.ends_at,
        "registered_at": now}, correlation_id=registration.enrollment_id)
    return registration, True


def own_registrations(session, principal, query: dict) -> dict:
    """The learner's registrations, newest first (a page)."""
    stmt = (select(Registration).where(Registration.learner_id == uuid.UUID(principal.subject))
            .order_by(Registration.registered_at.desc(), Registration.registration_id))
    rows, total = fetch_page(session, stmt, query)
    return page([registration_view(session, r) for r in rows], total, query)


def _past_attempts(session, registrations) -> list[attempts.PastAttempt]:
    """Attempts that count: sat, or absent (an attempt scored 0)."""
    return [attempts.PastAttempt(r.attempt_number, program_date(session.get(Sitting, r.sitting_id).starts_at),
                                 r.final, bool(r.passed)) for r in registrations if r.status in ("sat", "absent")]


def _paid_attempts(session, enrollment_id) -> frozenset[int]:
    return frozenset(session.scalars(select(PaidRetake.attempt_number).where(
        PaidRetake.enrollment_id == enrollment_id, PaidRetake.paid_at.is_not(None))))


class RegistrationNotOpen(Conflict):
    slug = "registration-not-open"
    title = "The registration is no longer open"


def cancel_registration(tx, registration_id, principal, now: datetime) -> Registration:
    """The learner cancels before registration closes: the seat is freed and the
    attempt unused. After the deadline the seat is theirs (absent = attempt 0)."""
    session = tx.session
    registration = own_registration(session, registration_id, principal)
    sitting = session.get(Sitting, registration.sitting_id)
    if registration.status != "registered":
        raise RegistrationNotOpen(f"the registration is {registration.status}")
    if now > sitting.registration_closes_at:
        raise RegistrationClosed(f"registration closed at {sitting.registration_closes_at.isoformat()}; "
                                 "the seat can no longer be given up")
    cancelled = session.execute(update(Registration).where(
        Registration.registration_id == registration.registration_id, Registration.status == "registered")
        .values(status="cancelled", ended_at=now))
    if cancelled.rowcount != 1:  # a concurrent cancellation won
        raise RegistrationNotOpen("the registration is no longer open")
    session.execute(update(Sitting).where(Sitting.sitting_id == sitting.sitting_id)
                    .values(seats_taken=Sitting.seats_taken - 1))
    session.refresh(registration)
    return registration


# -- paid retakes ------------------------------------------------------------------

def request_retake(tx, enrollment_id, principal, now: datetime) -> tuple[PaidRetake, bool]:
    """The learner asks for a further attempt that has no free retake left: exam
    asks billing for a paid retake order, once per (enrollment, attempt)."""
    session = tx.session
    candidate = session.get(Candidate, enrollment_id)
    if candidate is None or str(candidate.learner_id) != principal.subject:
        raise NotFound(f"no enrollment {enrollment_id}")
    mine = session.scalars(select(Registration).where(Registration.enrollment_id == enrollment_id)).all()
    number, reason = attempts.paid_retake_for(_past_attempts(session, mine), program_date(now),
                                              _paid_attempts(session, enrollment_id))
    found = session.get(PaidRetake, (enrollment_id, number))
    if found is not None and found.required_at is not None:
        return found, False
    try:
        with session.begin_nested():
            retake = found or PaidRetake(enrollment_id=enrollment_id, attempt_number=number,
                                         learner_id=candidate.learner_id)
            retake.reason, retake.required_at = reason, now
            session.add(retake)
    except IntegrityError:  # a concurrent request recorded it first
        return session.get(PaidRetake, (enrollment_id, number)), False
    tx.emit(events.RetakeRequired, {
        "enrollment_id": enrollment_id, "learner_id": candidate.learner_id, "level": candidate.level,
        "attempt_number": number, "reason": reason, "required_at": now}, correlation_id=enrollment_id)
    return retake, True


def record_retake_paid(tx, event) -> None:
    """billing.retake-paid: registration for that attempt needs no more payment."""
    data = event.data
    key = (data["enrollment_id"], data["attempt_number"])
    retake = tx.session.get(PaidRetake, key)
    if retake is None:  # paid on an order exam does not know: the payment still counts
        retake = PaidRetake(enrollment_id=key[0], attempt_number=key[1], learner_id=data["learner_id"])
        tx.session.add(retake)
    if retake.paid_at is None:
        retake.order_id, retake.paid_at = data["order_id"], data["paid_at"]


def retake_view(retake: PaidRetake) -> dict:
    return {c.key: getattr(retake, c.key) for c in PaidRetake.__table__.columns} | {
        "paid": retake.paid_at is not None}


def own_registration(session, registration_id, principal) -> Registration:
    registration = session.get(Registration, registration_id)
    if registration is None or str(registration.learner_id) != principal.subject:
        raise NotFound(f"no registration {registration_id}")
    return registration


def registration_view(session, registration: Registration) -> dict:
    sitting = session.get(Sitting, registration.sitting_id)
    return {**{c.key: getattr(registration, c.key) for c in Registration.__table__.columns},
            "starts_at": sitting.starts_at, "ends_at": sitting.ends_at,
            "registration_closes_at": sitting.registration_closes_at}


# -- the exam calendar a year ahead ---------------------------------------------------

def _flags(flags) -> list[dict]:
    return [{"day": f.day.isoformat(), "kind": f.kind, "detail": f.detail} for f in flags]


def _published(session, months: list[date]) -> dict:
    rows = session.scalars(select(PublishedMonth).where(PublishedMonth.month.in_(months)))
    return {row.month: row for row in rows}


def published_month_view(row: PublishedMonth) -> dict:
    return {"month": row.month.strftime("%Y-%m"), "saturday": row.saturday, "sunday": row.sunday,
            "rule_saturday": row.rule_saturday, "flags": row.flags, "decision": row.decision,
            "published": True, "reason": row.reason, "published_by": row.published_by,
            "published_at": row.published_at}


def published_calendar(session, today: date, query: dict) -> dict:
    """A page of the published months from this month on, in month order."""
    stmt = (select(PublishedMonth).where(PublishedMonth.month >= today.replace(day=1))
            .order_by(PublishedMonth.month))
    rows, total = fetch_page(session, stmt, query)
    return page([published_month_view(row) for row in rows], total, query)


def _proposed_view(m: exam_calendar.CalendarMonth) -> dict:
    return {"month": m.month.strftime("%Y-%m"), "saturday": m.saturday, "sunday": m.sunday,
            "rule_saturday": m.saturday, "flags": _flags(m.flags), "decision": None, "published": False}


def calendar_year_ahead(session, today: date, holidays) -> list[dict]:
    """The twelve months after this one: published ones as published, the others as
    the rule generates them, flagged."""
    proposed = exam_calendar.proposal(today, holidays)
    published = _published(session, [m.month for m in proposed])
    return [published_month_view(published[m.month]) if m.month in published else _proposed_view(m)
            for m in proposed]


def publish_calendar(tx, decisions: list[dict], principal, now: datetime, holidays, holidays_source: str,
                     capacity: int, closes_before: timedelta) -> tuple[int, list[dict]]:
    """Publish the months of the year ahead not yet published, with the
    administrator's decisions (domain: every flagged month decided), and hold their
    sittings on the weekend decided: made where the generator has not made them yet,
    moved (candidates told) where it has. A month already published is left alone:
    its sittings are moved one by one (POST /exam/sittings/<id>/move)."""
    today = program_date(now)
    proposed = exam_calendar.proposal(today, holidays)
    published = _published(tx.session, [m.month for m in proposed])
    wanted = [exam_calendar.Decision(date(int(d["month"][:4]), int(d["month"][5:]), 1), d["action"],
                                     d.get("saturday"), d.get("reason")) for d in decisions]
    again = [d.month.strftime("%Y-%m") for d in wanted if d.month in published]
    if again:
        raise CalendarMonthPublished(f"already published: {', '.join(again)}; move its sittings one by one",
                                     months=again)
    rule_flags = {m.month: m.flags for m in proposed}
    decided = exam_calendar.decide([m for m in proposed if m.month not in published], wanted, holidays, today)
    for month in decided:
        tx.session.add(PublishedMonth(
            month=month.month, saturday=month.saturday, sunday=month.sunday,
            rule_saturday=month.rule_saturday or month.saturday, decision=month.decision,
            flags=_flags(month.flags), rule_flags=_flags(rule_flags[month.month]), reason=month.reason,
            holidays_source=holidays_source, published_by=principal.subject, published_at=now))
        _hold_sittings(tx, month, now, capacity, closes_before)
    tx.session.flush()
    return len(decided), calendar_year_ahead(tx.session, today, holidays)


def _hold_sittings(tx, month, now: datetime, capacity: int, closes_before: timedelta) -> None:
    rule_saturday = month.rule_saturday or month.saturday
    slots = sittings.slots_of_month(month.month.year, month.month.month)
    made = {s.rule_slot or s.starts_at: s for s in tx.session.scalars(select(Sitting).where(
        Sitting.origin == "generated", func.coalesce(Sitting.rule_slot, Sitting.starts_at).in_(
            [slot.starts_at for slot in slots])))}
    for slot in slots:
        local = slot.starts_at.astimezone(PROGRAM_TZ)
        day = exam_calendar.slot_moved(local.date(), rule_saturday, month.saturday)
        starts = datetime.combine(day, local.timetz())
        there = made.get(slot.starts_at)
        if there is None:
            tx.session.add(Sitting(
                sitting_id=uuid.uuid4(), starts_at=starts, ends_at=starts + sittings.SLOT_LENGTH, level="both",
                capacity=capacity, seats_taken=0, registration_closes_at=starts - closes_before,
                origin="generated", status="scheduled", rule_slot=slot.starts_at))
        elif there.status == "scheduled" and there.starts_at != starts:
            move_sitting(tx, there.sitting_id, {"starts_at": starts, "registration_closes_at": None,
                                                "reason": month.reason or "exam calendar: moved"}, now)


class CalendarMonthPublished(Conflict):
    slug = "calendar-month-published"
    title = "That month of the exam calendar is published already"


class CalendarChanged(Conflict):
    slug = "calendar-changed"
    title = "The calendar changed while publishing"
