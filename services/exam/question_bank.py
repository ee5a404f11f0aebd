"""The question bank's actions: examiners write, review, revise and retire
questions (rules in domain/bank.py). The answer and rubric are for examiners only."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, select

from shared.errors import NotFound

from .domain import bank
from .models import PaperQuestion, Question

EDITABLE = ("area", "prompt", "options", "answer", "rubric")


def _revisions(session, question_id) -> list[Question]:
    found = session.scalars(select(Question).where(Question.question_id == question_id)
                            .order_by(Question.revision).with_for_update()).all()
    if not found:
        raise NotFound(f"no question {question_id}")
    return found


def _ever_drawn(session, q: Question) -> bool:
    return session.scalar(select(exists().where(PaperQuestion.question_id == q.question_id,
                                                PaperQuestion.revision == q.revision)))


def _check(type_, fields: dict) -> None:
    bank.check_question(type_, fields["area"], fields["prompt"], fields["options"], fields["answer"],
                        fields["rubric"])


def write(tx, body: dict, examiner: str, now: datetime) -> Question:
    """A new question, a draft until a second examiner approves it."""
    _check(body["type"], body)
    question = Question(question_id=f"Q-{uuid.uuid4().hex[:12].upper()}", revision=1, type=body["type"],
                        status="draft", written_by=examiner, written_at=now,
                        **{k: body[k] for k in EDITABLE})
    tx.session.add(question)
    return question


def revise(tx, question_id: str, body: dict, examiner: str, now: datetime) -> Question:
    """An edit. A draft never drawn changes in place; anything else (active, or in
    any paper) gets a new draft revision and keeps its own text for the papers
    that hold it."""
    latest = _revisions(tx.session, question_id)[-1]
    fields = {k: body.get(k, getattr(latest, k)) for k in EDITABLE}
    _check(latest.type, fields)
    if bank.edit_in_place(latest.status, _ever_drawn(tx.session, latest)):
        target = latest
    else:
        target = Question(question_id=question_id, revision=latest.revision + 1, type=latest.type)
        tx.session.add(target)
    for k, v in fields.items():
        setattr(target, k, v)
    target.status, target.written_by, target.written_at = "draft", examiner, now
    target.reviewed_by = target.review_comment = target.reviewed_at = None
    return target


def review(tx, question_id: str, body: dict, examiner: str, now: datetime) -> Question:
    """A second examiner approves (the draft becomes the active revision, the one
    before it superseded) or rejects (back to its author) the latest draft."""
    revisions = _revisions(tx.session, question_id)
    latest = revisions[-1]
    bank.check_review(latest.status, latest.written_by, examiner)
    latest.reviewed_by, latest.review_comment, latest.reviewed_at = examiner, body["comment"], now
    if not body["approve"]:
        latest.status = "rejected"
        return latest
    for older in revisions[:-1]:
        if older.status == "active":
            older.status = "superseded"
    latest.status = "active"
    return latest


def retire(tx, question_id: str, examiner: str, now: datetime) -> Question:
    """No longer drawn; the papers that hold it keep it."""
    revisions = _revisions(tx.session, question_id)
    for q in revisions:
        if q.status in ("active", "draft", "rejected"):
            q.status, q.reviewed_by, q.reviewed_at = "retired", examiner, now
    return revisions[-1]


def question_view(q: Question) -> dict:
    return {c.key: getattr(q, c.key) for c in Question.__table__.columns}


def listing(session, query: dict) -> list[dict]:
    """Each question's latest revision among those matching the filter."""
    stmt = select(Question)
    for key in ("status", "type", "area"):
        if query.get(key):
            stmt = stmt.where(getattr(Question, key) == query[key])
    rows = session.scalars(stmt.order_by(Question.question_id, Question.revision)).all()
    by_id = {q.question_id: q for q in rows}  # the highest revision of each wins
    return [question_view(q) for q in by_id.values()]


def revisions_view(session, question_id: str) -> dict:
    found = session.scalars(select(Question).where(Question.question_id == question_id)
                            .order_by(Question.revision)).all()
    if not found:
        raise NotFound(f"no question {question_id}")
    return {"question_id": question_id, "revisions": [question_view(q) for q in found]}
