"""The candidate's paper over a transaction: drawing it, autosave, submission, the
close at the slot's end (scoring), results and marking."""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import Text, bindparam, case, cast, exists, func, select, update

from shared.contracts import exam as events
from shared.errors import Conflict, NotFound
from shared.web.pagination import page

from . import question_bank
from .actions import current_blueprint, own_registration
from .domain.paper import points, tenths
from .domain import scoring
from .domain.paper import BankQuestion, display_keys, draw
from .models import Paper, PaperQuestion, Question, Registration, Sitting

CLOSE_BATCH = 500  # papers per transaction at a slot's end


# -- the paper ------------------------------------------------------------------

class PaperNotOpen(Conflict):
    slug = "paper-not-open"
    title = "The paper opens at the start of the slot"


class PaperClosed(Conflict):
    slug = "paper-closed"
    title = "The paper is closed"


def open_paper(tx, registration_id, principal, now: datetime, bank_file=None) -> Paper:
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
    if bank_file is not None and session.scalar(select(Question.question_id).limit(1)) is None:
        question_bank.seed(session, bank_file)  # the start-up timer has not run yet
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
        # The number is the question's handle on this paper: the bank's id never
        # reaches a candidate (with the bank it would be the answer).
        questions.append({"number": pq.number, "type": q.type, "area": q.area, "prompt": q.prompt,
                          "options": shown, "points": points(pq.points_tenths)})
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

def marking_queue(session, query: dict) -> dict:
    """The next short answers to mark (oldest papers first, a page) and how many are
    left per sitting: a national sitting leaves 100,000 of them."""
    waiting = ((PaperQuestion.type == "short_answer") & PaperQuestion.awarded_tenths.is_(None)
               & Paper.status.in_(("submitted", "closed")))
    if query.get("sitting_id"):
        waiting &= Registration.sitting_id == query["sitting_id"]
    stmt = (select(PaperQuestion, Question, Registration.sitting_id)
            .join(Paper, Paper.paper_id == PaperQuestion.paper_id)
            .join(Registration, Registration.registration_id == Paper.registration_id)
            .join(Question, (Question.question_id == PaperQuestion.question_id)
                  & (Question.revision == PaperQuestion.revision))
            .where(waiting).order_by(Paper.closes_at, Paper.paper_id, PaperQuestion.number)
            .limit(query["limit"]).offset(query["offset"]))
    items = [{"paper_id": pq.paper_id, "number": pq.number, "sitting_id": sitting, "question_id": q.question_id,
              "prompt": q.prompt, "rubric": q.rubric, "answer_text": pq.answer,
              "max_points": points(pq.points_tenths)} for pq, q, sitting in session.execute(stmt)]
    left = session.execute(select(Registration.sitting_id, func.count())
                           .select_from(PaperQuestion)
                           .join(Paper, Paper.paper_id == PaperQuestion.paper_id)
                           .join(Registration, Registration.registration_id == Paper.registration_id)
                           .where(waiting).group_by(Registration.sitting_id))
    left_per_sitting = {str(sitting): n for sitting, n in left}
    return {**page(items, sum(left_per_sitting.values()), query), "left_per_sitting": left_per_sitting}


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
