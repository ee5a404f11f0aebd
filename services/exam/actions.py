"""What exam does, one function per action, event or timer tick, over a transaction."""
from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import Text, bindparam, case, cast, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from shared.calendar import program_date
from shared.contracts import exam as events
from shared.errors import Conflict, InvalidInput, NotFound, RuleViolation

from .domain import attempts, scoring, sittings
from .domain.paper import Blueprint, BankQuestion, blueprint_from_data, display_keys, draw
from .models import Candidate, PaidRetake, Paper, PaperQuestion, Question, Registration, Sitting

BANK_FILE = Path(__file__).parent / "bank" / "questions.yaml"
BLUEPRINTS_FILE = Path(__file__).parent / "bank" / "blueprints.yaml"
TENTH = Decimal("0.1")
CLOSE_BATCH = 500  # papers per transaction at a slot's end


def tenths(points: Decimal) -> int:
    return int(points / TENTH)


def points(tenths_: int) -> Decimal:
    return (Decimal(tenths_) * TENTH).quantize(TENTH)


# -- set-up: the bank and the calendar ----------------------------------------

@lru_cache(maxsize=1)
def _bank_seed() -> list[dict]:
    return yaml.safe_load(BANK_FILE.read_text(encoding="utf-8"))["questions"]


def load_bank(session) -> int:
    """Seed questions not in the database yet (revision 1); never edits one in place."""
    known = set(session.scalars(select(Question.question_id)))
    added = 0
    for q in _bank_seed():
        if q["id"] not in known:
            session.add(Question(question_id=q["id"], revision=1, type=q["type"], area=q["area"],
                                 prompt=q["prompt"], options=q.get("options", []), answer=q.get("answer"),
                                 rubric=q.get("rubric"), status="active"))
            added += 1
    return added


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

def create_sitting(tx, body: dict, now: datetime) -> Sitting:
    """An administrator's temporary adjustment: an extra sitting, 90 minutes long.
    Registration closes at the start unless the administrator admits late
    registration (a make-up sitting), never after the sitting's end."""
    starts = body["starts_at"]
    ends = starts + sittings.SLOT_LENGTH
    if ends <= now:
        raise InvalidInput("the sitting would be over already", errors={"starts_at": ["in the past"]})
    closes = body["registration_closes_at"] or starts
    if closes > ends:
        raise InvalidInput("registration must close by the sitting's end",
                           errors={"registration_closes_at": ["after the sitting ends"]})
    sitting = Sitting(sitting_id=uuid.uuid4(), starts_at=starts, ends_at=ends,
                      level=body["level"], capacity=body["capacity"], seats_taken=0,
                      registration_closes_at=closes, origin="extra", status="scheduled")
    tx.session.add(sitting)
    return sitting


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
    previous = sitting.starts_at
    try:
        with tx.session.begin_nested():
            sitting.starts_at, sitting.ends_at = starts, starts + sittings.SLOT_LENGTH
            sitting.registration_closes_at = closes
            sitting.change_reason, sitting.changed_at = body["reason"], now
    except IntegrityError:  # uq_sitting_slot
        raise SittingClash(f"a {sitting.origin} sitting for {sitting.level} already starts then") from None
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


def upcoming_sittings(session, level: str | None, now: datetime) -> list[dict]:
    stmt = select(Sitting).where(Sitting.status == "scheduled", Sitting.ends_at > now)
    if level:
        stmt = stmt.where(Sitting.level.in_((level, "both")))
    return [sitting_view(s) for s in session.scalars(stmt.order_by(Sitting.starts_at))]


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


class AlreadyRegistered(Conflict):
    slug = "already-registered"
    title = "The learner already holds an open registration"


def record_candidate(tx, event) -> None:
    data = event.data
    if tx.session.get(Candidate, data["enrollment_id"]) is None:
        tx.session.add(Candidate(enrollment_id=data["enrollment_id"], learner_id=data["learner_id"],
                                 level=data["level"], coursework_completed_at=data["completed_at"]))


def register(tx, principal, body: dict, now: datetime) -> Registration:
    session = tx.session
    candidate = session.get(Candidate, body["enrollment_id"])
    if candidate is not None and str(candidate.learner_id) != principal.subject:
        raise NotFound(f"no enrollment {body['enrollment_id']}")
    if candidate is None:
        raise CourseworkIncomplete("the learner's coursework is not complete (or not yet reported)",
                                   rules=[{"rule": "COURSEWORK_COMPLETE",
                                           "message": "every required course must be complete"}])
    sitting = session.get(Sitting, body["sitting_id"])
    if sitting is None or sitting.status != "scheduled":
        raise NotFound(f"no sitting {body['sitting_id']}")
    if sitting.level not in (candidate.level, "both"):
        raise RuleViolation(f"this sitting is for {sitting.level}; the enrollment is {candidate.level}",
                            rules=[{"rule": "SITTING_LEVEL", "message": "the sitting's level must match"}])
    if now > sitting.registration_closes_at:
        raise RegistrationClosed(f"registration closed at {sitting.registration_closes_at.isoformat()}")
    mine = session.scalars(select(Registration).where(Registration.enrollment_id == candidate.enrollment_id)).all()
    if any(r.status == "registered" for r in mine):
        raise AlreadyRegistered("cancel the open registration before registering again")
    number = attempts.next_attempt(_past_attempts(session, mine), program_date(sitting.starts_at),
                                   _paid_attempts(session, candidate.enrollment_id))
    taken = session.execute(update(Sitting).where(Sitting.sitting_id == sitting.sitting_id,
                                                  Sitting.status == "scheduled",
                                                  Sitting.seats_taken < Sitting.capacity)
                            .values(seats_taken=Sitting.seats_taken + 1))
    if taken.rowcount != 1:  # the seat is counted in the database, never oversold
        raise SittingFull(f"all {sitting.capacity} seats are taken")
    registration = Registration(registration_id=uuid.uuid4(), enrollment_id=candidate.enrollment_id,
                                learner_id=candidate.learner_id, sitting_id=sitting.sitting_id,
                                level=candidate.level, attempt_number=number, status="registered",
                                registered_at=now, final=False)
    try:
        with session.begin_nested():
            session.add(registration)
    except IntegrityError:  # a concurrent registration of the same enrollment won (unique indexes)
        raise AlreadyRegistered("the learner already holds an open registration") from None
    return registration


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


# -- the paper ------------------------------------------------------------------

class PaperNotOpen(Conflict):
    slug = "paper-not-open"
    title = "The paper opens at the start of the slot"


class PaperClosed(Conflict):
    slug = "paper-closed"
    title = "The paper is closed"


def open_paper(tx, registration_id, principal, now: datetime) -> Paper:
    session = tx.session
    registration = own_registration(session, registration_id, principal)
    sitting = session.get(Sitting, registration.sitting_id)
    if now < sitting.starts_at:
        raise PaperNotOpen(f"the paper opens at {sitting.starts_at.isoformat()}")
    paper = session.scalar(select(Paper).where(Paper.registration_id == registration.registration_id))
    if paper is not None:
        return paper
    if now >= sitting.ends_at or registration.status != "registered":
        raise PaperClosed("the slot is over")
    if session.scalar(select(Question.question_id).limit(1)) is None:
        load_bank(session)  # the start-up timer has not run yet
    questions = {(q.question_id, q.revision): q
                 for q in session.scalars(select(Question).where(Question.status == "active"))}
    bank = [BankQuestion(q.question_id, q.revision, q.type, q.area, tuple(o["key"] for o in q.options))
            for q in questions.values()]
    blueprint = current_blueprint(registration.level)
    seed = secrets.randbits(62)  # recorded: the same seed redraws the same paper for audit
    drawn = draw(bank, blueprint, seed)
    paper = Paper(paper_id=uuid.uuid4(), registration_id=registration.registration_id,
                  blueprint_version=blueprint.name, seed=seed, opened_at=now,
                  closes_at=sitting.ends_at, status="open")
    session.add(paper)
    session.flush()
    session.add_all(PaperQuestion(
        paper_id=paper.paper_id, number=d.number, question_id=d.question_id, revision=d.revision,
        type=d.type, points_tenths=tenths(d.points), option_order=list(d.option_order),
        answer_key=scoring.answer_key(d.type, questions[(d.question_id, d.revision)].answer, d.option_order))
        for d in drawn)
    return paper


def candidate_paper(session, paper: Paper) -> dict:
    """What the candidate's client receives: no answer key, no rubric."""
    rows = session.execute(select(PaperQuestion, Question).join(
        Question, (Question.question_id == PaperQuestion.question_id)
        & (Question.revision == PaperQuestion.revision))
        .where(PaperQuestion.paper_id == paper.paper_id).order_by(PaperQuestion.number)).all()
    questions, answers = [], {}
    for pq, q in rows:
        text = {o["key"]: o["text"] for o in q.options}
        shown = [{"key": k, "text": text[bank_key]}
                 for k, bank_key in zip(display_keys(len(pq.option_order)), pq.option_order)]
        questions.append({"number": pq.number, "question_id": q.question_id, "type": q.type,
                          "area": q.area, "prompt": q.prompt, "options": shown,
                          "points": points(pq.points_tenths)})
        if pq.answer is not None:
            answers[str(pq.number)] = pq.answer
    return {"paper_id": paper.paper_id, "status": paper.status, "closes_at": paper.closes_at,
            "questions": questions, "answers": answers}


def own_paper(session, paper_id, principal, lock: bool = False) -> tuple[Paper, Registration]:
    paper = session.get(Paper, paper_id, with_for_update=lock)
    registration = session.get(Registration, paper.registration_id) if paper else None
    if registration is None or str(registration.learner_id) != principal.subject:
        raise NotFound(f"no paper {paper_id}")
    return paper, registration


# Autosave is the hot path (hundreds a second at a national sitting): its two
# statements are built once and run on the session's connection.
_SAVE_READ = (
    select(Registration.learner_id, Paper.status, Paper.closes_at, PaperQuestion.type, PaperQuestion.option_order)
    .join(Registration, Registration.registration_id == Paper.registration_id)
    .outerjoin(PaperQuestion, (PaperQuestion.paper_id == Paper.paper_id)
               & (PaperQuestion.number == bindparam("number")))
    .where(Paper.paper_id == bindparam("paper_id", type_=Paper.paper_id.type))
    .with_for_update(read=True, of=Paper))
_SAVE_WRITE = (
    update(PaperQuestion)
    .where(PaperQuestion.paper_id == bindparam("the_paper", type_=Paper.paper_id.type),
           PaperQuestion.number == bindparam("the_number"),
           exists().where(Paper.paper_id == bindparam("the_paper", type_=Paper.paper_id.type),
                          Paper.status == "open"))
    .values(answer=bindparam("new_answer", type_=PaperQuestion.answer.type),
            saved_at=bindparam("at", type_=PaperQuestion.saved_at.type)))


def save_answer(tx, paper_id, number: int, principal, answer, now: datetime) -> dict:
    """Autosave: last write wins per question, until submission or the slot's end.
    The paper is share-locked (PostgreSQL) while saving, so a save racing the close
    or the submission lands before it or is refused, never after the scoring.
    Every refusal comes before the one write, so a refused save wrote nothing."""
    conn = tx.session.connection()
    found = conn.execute(_SAVE_READ, {"paper_id": paper_id, "number": number}).first()
    if found is None or str(found.learner_id) != principal.subject:
        raise NotFound(f"no paper {paper_id}")
    if found.status != "open" or now >= found.closes_at:
        raise PaperClosed("answers can no longer be changed")
    if found.type is None:
        raise NotFound(f"the paper has no question {number}")
    scoring.check_answer_shape(found.type, len(found.option_order), answer)
    answer = scoring.canonical(found.type, answer)
    saved = conn.execute(_SAVE_WRITE, {"the_paper": paper_id, "the_number": number, "new_answer": answer,
                                       "at": now})
    if saved.rowcount != 1:
        raise PaperClosed("answers can no longer be changed")
    return {"number": number, "answer": answer, "saved_at": now}


def submit(tx, paper_id, principal, now: datetime) -> Registration:
    paper, registration = own_paper(tx.session, paper_id, principal, lock=True)  # vs the close timer
    if paper.status != "open":
        raise PaperClosed(f"the paper is already {paper.status}")
    close_papers(tx, [paper.paper_id], "submitted", now)
    return registration


def close_due(tx, now: datetime, limit: int = CLOSE_BATCH) -> int:
    """The timer: papers whose slot ended close with what was saved; a registration
    with no paper at its slot's end is an absence, an attempt scored 0.

    Idempotent (only open papers and registered candidates are taken), restart-safe
    (nothing is remembered between ticks) and replica-safe: rows are claimed with
    FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite has one writer). At most `limit`
    of each per call; the timer calls again while there is more."""
    session = tx.session
    due = session.scalars(select(Paper.paper_id).where(Paper.status == "open", Paper.closes_at <= now)
                          .order_by(Paper.closes_at).limit(limit).with_for_update(skip_locked=True)).all()
    close_papers(tx, due, "closed", now)
    no_paper = ~exists().where(Paper.registration_id == Registration.registration_id)
    absent = session.scalars(
        select(Registration).join(Sitting, Sitting.sitting_id == Registration.sitting_id)
        .where(Registration.status == "registered", Sitting.ends_at <= now, no_paper)
        .limit(limit).with_for_update(skip_locked=True, of=Registration)).all()
    for registration in absent:
        registration.status = "absent"
        _finalize(tx, registration, 0, now)
    return len(due) + len(absent)


def close_papers(tx, paper_ids: list, status: str, now: datetime) -> None:
    """Close and score papers set-wise: objective answers are compared with the
    key in the candidate's letters; blank short answers score 0 with no examiner."""
    if not paper_ids:
        return
    session = tx.session
    for ids in _chunks(paper_ids):
        session.execute(update(Paper).where(Paper.paper_id.in_(ids)).values(
            status=status, submitted_at=now if status == "submitted" else None)
            .execution_options(synchronize_session=False))
        session.execute(update(Registration).where(Registration.registration_id.in_(
            select(Paper.registration_id).where(Paper.paper_id.in_(ids)))).values(status="sat")
            .execution_options(synchronize_session=False))
        answer = func.coalesce(cast(PaperQuestion.answer, Text), "null")
        session.execute(update(PaperQuestion).where(
            PaperQuestion.paper_id.in_(ids), PaperQuestion.type != "short_answer").values(
            awarded_tenths=case((answer == cast(PaperQuestion.answer_key, Text), PaperQuestion.points_tenths),
                                else_=0)).execution_options(synchronize_session=False))
        session.execute(update(PaperQuestion).where(
            PaperQuestion.paper_id.in_(ids), PaperQuestion.type == "short_answer", answer == "null")
            .values(awarded_tenths=0).execution_options(synchronize_session=False))
        _finalize_marked(tx, ids, now)


def _chunks(items, size=CLOSE_BATCH):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _finalize_marked(tx, paper_ids, now: datetime) -> None:
    """Papers with every answer scored or marked have a final result."""
    session = tx.session
    totals = session.execute(
        select(Paper.registration_id, func.sum(PaperQuestion.awarded_tenths))
        .join(PaperQuestion, PaperQuestion.paper_id == Paper.paper_id)
        .where(Paper.paper_id.in_(paper_ids), Paper.status != "open")
        .group_by(Paper.registration_id)
        .having(func.count(PaperQuestion.awarded_tenths) == func.count())).all()
    if not totals:
        return
    score = dict(totals)
    ready = session.scalars(select(Registration).where(Registration.registration_id.in_(score),
                                                       Registration.final.is_(False))
                            .execution_options(populate_existing=True)).all()
    for registration in ready:
        _finalize(tx, registration, score[registration.registration_id], now)


def _finalize(tx, registration: Registration, score_tenths: int, now: datetime) -> None:
    """The result is final: exactly one exam.graded per attempt."""
    score = points(score_tenths)
    registration.final, registration.score_tenths = True, score_tenths
    registration.passed, registration.graded_at = scoring.passed(score), now
    tx.emit(events.Graded, {
        "attempt_id": registration.registration_id, "enrollment_id": registration.enrollment_id,
        "learner_id": registration.learner_id, "level": registration.level,
        "sitting_id": registration.sitting_id, "attempt_number": registration.attempt_number,
        "score": score, "passed": registration.passed, "graded_at": now,
    }, correlation_id=registration.enrollment_id)


def result_view(registration: Registration) -> dict:
    final = registration.final
    return {"registration_id": registration.registration_id, "final": final,
            "attempt_number": registration.attempt_number,
            "score": points(registration.score_tenths) if final else None,
            "passed": registration.passed if final else None}


# -- marking --------------------------------------------------------------------

def marking_queue(session, sitting_id=None) -> dict:
    stmt = (select(PaperQuestion, Question, Registration)
            .join(Paper, Paper.paper_id == PaperQuestion.paper_id)
            .join(Registration, Registration.registration_id == Paper.registration_id)
            .join(Question, (Question.question_id == PaperQuestion.question_id)
                  & (Question.revision == PaperQuestion.revision))
            .where(PaperQuestion.type == "short_answer", PaperQuestion.awarded_tenths.is_(None),
                   Paper.status.in_(("submitted", "closed"))))
    if sitting_id:
        stmt = stmt.where(Registration.sitting_id == sitting_id)
    items, left = [], {}
    for pq, q, r in session.execute(stmt.order_by(Paper.submitted_at, PaperQuestion.number)):
        items.append({"paper_id": pq.paper_id, "number": pq.number, "sitting_id": r.sitting_id,
                      "question_id": q.question_id, "prompt": q.prompt, "rubric": q.rubric,
                      "answer_text": pq.answer, "max_points": points(pq.points_tenths)})
        left[str(r.sitting_id)] = left.get(str(r.sitting_id), 0) + 1
    return {"items": items, "left_per_sitting": left}


class AlreadyFinal(Conflict):
    slug = "result-final"
    title = "The result is final"


def mark(tx, paper_id, number: int, examiner: str, body: dict, now: datetime) -> None:
    session = tx.session
    question = session.get(PaperQuestion, (paper_id, number))
    paper = session.get(Paper, paper_id)
    if question is None or paper is None or question.type != "short_answer":
        raise NotFound(f"no short answer {number} on paper {paper_id}")
    if paper.status == "open":
        raise Conflict("the paper is still being written")
    # Locked: two examiners marking a paper's last two answers at once must see
    # each other's mark, so that exactly one of them makes the result final.
    registration = session.get(Registration, paper.registration_id, with_for_update=True)
    if registration.final:
        raise AlreadyFinal("the result is final; a change is a re-marking, not an edit")
    scoring.check_mark(body["points"], points(question.points_tenths))
    question.awarded_tenths = tenths(body["points"])
    question.marked_by, question.comment, question.marked_at = examiner, body["comment"], now
    session.flush()
    _finalize_marked(tx, [paper.paper_id], now)
