"""What exam does, one function per action, event or timer tick, over a transaction."""
from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import func, select, update

from shared.calendar import program_date
from shared.contracts import exam as events
from shared.errors import Conflict, InvalidInput, NotFound, RuleViolation

from .domain import attempts, scoring, sittings
from .domain.paper import BLUEPRINT_V1, OBJECTIVE, BankQuestion, display_keys, draw
from .models import Candidate, Paper, PaperQuestion, Question, Registration, Sitting

BANK_FILE = Path(__file__).parent / "bank" / "questions.yaml"
TENTH = Decimal("0.1")


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


def generate_sittings(session, today: date, months: int, capacity: int, closes_before: timedelta) -> int:
    """The rule's sittings for the coming months; idempotent (unique slot)."""
    existing = set(session.scalars(select(Sitting.starts_at).where(Sitting.origin == "generated")))
    added = 0
    for slot in sittings.slots_ahead(today, months):
        if slot.starts_at not in existing:
            session.add(Sitting(sitting_id=uuid.uuid4(), starts_at=slot.starts_at, ends_at=slot.ends_at,
                                level="both", capacity=capacity, seats_taken=0,
                                registration_closes_at=slot.starts_at - closes_before,
                                origin="generated", status="scheduled"))
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
    past = [attempts.PastAttempt(r.attempt_number, program_date(_sitting_start(session, r)), r.final,
                                 bool(r.passed)) for r in mine if r.status in ("sat", "absent")]
    number = attempts.next_attempt(past, program_date(sitting.starts_at))
    taken = session.execute(update(Sitting).where(Sitting.sitting_id == sitting.sitting_id,
                                                  Sitting.seats_taken < Sitting.capacity)
                            .values(seats_taken=Sitting.seats_taken + 1))
    if taken.rowcount != 1:  # the seat is counted in the database, never oversold
        raise SittingFull(f"all {sitting.capacity} seats are taken")
    registration = Registration(registration_id=uuid.uuid4(), enrollment_id=candidate.enrollment_id,
                                learner_id=candidate.learner_id, sitting_id=sitting.sitting_id,
                                level=candidate.level, attempt_number=number, status="registered",
                                registered_at=now, final=False)
    session.add(registration)
    return registration


def _sitting_start(session, registration) -> datetime:
    return session.get(Sitting, registration.sitting_id).starts_at


def own_registration(session, registration_id, principal) -> Registration:
    registration = session.get(Registration, registration_id)
    if registration is None or str(registration.learner_id) != principal.subject:
        raise NotFound(f"no registration {registration_id}")
    return registration


def registration_view(session, registration: Registration) -> dict:
    sitting = session.get(Sitting, registration.sitting_id)
    return {**{c.key: getattr(registration, c.key) for c in Registration.__table__.columns},
            "starts_at": sitting.starts_at, "ends_at": sitting.ends_at}


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
    bank = [BankQuestion(q.question_id, q.revision, q.type, tuple(o["key"] for o in q.options))
            for q in session.scalars(select(Question).where(Question.status == "active"))]
    seed = secrets.randbits(62)  # recorded: the same seed redraws the same paper for audit
    paper = Paper(paper_id=uuid.uuid4(), registration_id=registration.registration_id,
                  blueprint_version=BLUEPRINT_V1.version, seed=seed, opened_at=now,
                  closes_at=sitting.ends_at, status="open")
    session.add(paper)
    session.flush()
    for d in draw(bank, BLUEPRINT_V1, seed):
        session.add(PaperQuestion(paper_id=paper.paper_id, number=d.number, question_id=d.question_id,
                                  revision=d.revision, type=d.type, points_tenths=tenths(d.points),
                                  option_order=list(d.option_order)))
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


def own_paper(session, paper_id, principal) -> tuple[Paper, Registration]:
    paper = session.get(Paper, paper_id)
    registration = session.get(Registration, paper.registration_id) if paper else None
    if registration is None or str(registration.learner_id) != principal.subject:
        raise NotFound(f"no paper {paper_id}")
    return paper, registration


def save_answer(tx, paper_id, number: int, principal, answer, now: datetime) -> PaperQuestion:
    """Autosave: last write wins per question, until submission or the slot's end."""
    paper, _ = own_paper(tx.session, paper_id, principal)
    if paper.status != "open" or now >= paper.closes_at:
        raise PaperClosed("answers can no longer be changed")
    question = tx.session.get(PaperQuestion, (paper.paper_id, number))
    if question is None:
        raise NotFound(f"the paper has no question {number}")
    scoring.check_answer_shape(question.type, len(question.option_order), answer)
    question.answer, question.saved_at = answer, now
    return question


def submit(tx, paper_id, principal, now: datetime) -> Registration:
    paper, registration = own_paper(tx.session, paper_id, principal)
    if paper.status != "open":
        raise PaperClosed(f"the paper is already {paper.status}")
    paper.status, paper.submitted_at = "submitted", now
    _close(tx, paper, registration, now)
    return registration


def close_due(tx, now: datetime) -> int:
    """The timer: papers whose slot ended close with what was saved; a registration
    with no paper at its slot's end is an absence, an attempt scored 0. Idempotent."""
    session = tx.session
    closed = 0
    for paper in session.scalars(select(Paper).where(Paper.status == "open", Paper.closes_at <= now)):
        paper.status = "closed"
        _close(tx, paper, session.get(Registration, paper.registration_id), now)
        closed += 1
    absent = session.scalars(select(Registration).join(Sitting, Sitting.sitting_id == Registration.sitting_id)
                             .where(Registration.status == "registered", Sitting.ends_at <= now)).all()
    for registration in absent:
        if session.scalar(select(Paper.paper_id).where(Paper.registration_id == registration.registration_id)):
            continue
        registration.status = "absent"
        _finalize(tx, registration, 0, now)
        closed += 1
    return closed


def _close(tx, paper: Paper, registration: Registration, now: datetime) -> None:
    """Score the objective answers; blank short answers score 0 with no examiner."""
    registration.status = "sat"
    key = {(q.question_id, q.revision): q.answer for q in tx.session.scalars(select(Question).where(
        Question.question_id.in_(select(PaperQuestion.question_id)
                                 .where(PaperQuestion.paper_id == paper.paper_id))))}
    for pq in _questions(tx.session, paper):
        if pq.type in OBJECTIVE:
            right = scoring.objective_correct(pq.type, key[(pq.question_id, pq.revision)], pq.answer,
                                              pq.option_order)
            pq.awarded_tenths = pq.points_tenths if right else 0
        elif not (pq.answer or "").strip():
            pq.awarded_tenths = 0
    _finalize_when_marked(tx, paper, registration, now)


def _questions(session, paper):
    return session.scalars(select(PaperQuestion).where(PaperQuestion.paper_id == paper.paper_id)
                           .order_by(PaperQuestion.number)).all()


def _finalize_when_marked(tx, paper, registration, now) -> None:
    questions = _questions(tx.session, paper)
    if registration.final or any(q.awarded_tenths is None for q in questions):
        return
    _finalize(tx, registration, sum(q.awarded_tenths for q in questions), now)


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
    registration = session.get(Registration, paper.registration_id)
    if registration.final:
        raise AlreadyFinal("the result is final; a change is a re-marking, not an edit")
    scoring.check_mark(body["points"], points(question.points_tenths))
    question.awarded_tenths = tenths(body["points"])
    question.marked_by, question.comment, question.marked_at = examiner, body["comment"], now
    _finalize_when_marked(tx, paper, registration, now)
