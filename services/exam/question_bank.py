"""The question bank's actions: seeding it from a bank file; examiners write,
review, revise and retire questions (rules in domain/bank.py). The answer and
rubric are for examiners only."""
from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import exists, select

from shared.errors import NotFound
from shared.web.pagination import page

from .actions import current_blueprint
from .domain import bank
from .domain.paper import LEVELS
from .models import PaperQuestion, Question, Retirement, Sitting

log = logging.getLogger(__name__)
SAMPLE_BANK = Path(__file__).parent / "bank" / "sample-questions.yaml"


# -- the bank file ------------------------------------------------------------------

def read_bank_file(path: str | Path) -> bank.BankFile:
    """A bank file, read and checked whole (cached by path and modification time)."""
    path = Path(path)
    return _read(str(path.resolve()), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _read(path: str, _mtime: int) -> bank.BankFile:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise bank.BankFileInvalid(f"{path} is not a YAML file: {exc}", errors={"file": [str(exc)]}) from None
    return bank.read_bank(data)


def seed(session, bank_file: bank.BankFile) -> int:
    """Add the file's questions not in the database yet (revision 1, active); never
    edits one in place (a changed question is a revision an examiner makes)."""
    known = set(session.scalars(select(Question.question_id)))
    added = 0
    for q in bank_file.questions:
        if q["id"] not in known:
            session.add(Question(question_id=q["id"], revision=1, type=q["type"], area=q["area"],
                                 prompt=q["prompt"], options=q.get("options") or [], answer=q.get("answer"),
                                 rubric=q.get("rubric"), status="active"))
            added += 1
    if bank_file.sample and added:
        log.warning("seeded %d questions from the SAMPLE question bank: its answers are public, "
                    "never use it for a real sitting", added)
    return added

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


def write(tx, body: dict, examiner: str, now: datetime) -> tuple[Question, bool]:
    """A new question, a draft until a second examiner approves it. (The question,
    whether it is new: the same question again from its author, still a draft,
    answers that draft.)"""
    _check(body["type"], body)
    drafts = tx.session.scalars(select(Question).where(
        Question.written_by == examiner, Question.type == body["type"], Question.prompt == body["prompt"],
        Question.status == "draft"))
    for draft in drafts:
        if all(getattr(draft, k) == body[k] for k in EDITABLE):
            return draft, False
    question = Question(question_id=f"Q-{uuid.uuid4().hex[:12].upper()}", revision=1, type=body["type"],
                        status="draft", written_by=examiner, written_at=now,
                        **{k: body[k] for k in EDITABLE})
    tx.session.add(question)
    return question, True


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


def request_retirement(tx, question_id: str, examiner: str, reason: str, now: datetime) -> Question:
    """An examiner asks for a question to be retired; it is still drawn until a
    second examiner approves. Refused at once when it would leave too few."""
    revisions = _revisions(tx.session, question_id)
    if all(q.status in ("retired", "superseded") for q in revisions):
        raise bank.QuestionRetired(f"question {question_id} is retired")
    pending = _pending_retirement(tx.session, question_id)
    if pending is not None:
        if (pending.requested_by, pending.reason) == (examiner, reason):
            return revisions[-1]  # the same request again
        raise bank.RetirementPending(f"{pending.requested_by} asked for its retirement; review that request",
                                     requested_by=pending.requested_by)
    _check_leaves_enough(tx.session, revisions, now)
    tx.session.add(Retirement(question_id=question_id, reason=reason, requested_by=examiner, requested_at=now))
    tx.session.flush()
    return revisions[-1]


def review_retirement(tx, question_id: str, body: dict, examiner: str, now: datetime) -> Question:
    """A second examiner approves (every revision retired: no longer drawn, papers
    keep it) or rejects the retirement asked for."""
    revisions = _revisions(tx.session, question_id)
    pending = _pending_retirement(tx.session, question_id)
    if pending is None:
        raise bank.NoRetirementPending(f"no retirement of {question_id} is waiting for review")
    bank.check_retirement_review(pending.requested_by, examiner)
    if body["approve"]:
        _check_leaves_enough(tx.session, revisions, now)
        for q in revisions:
            if q.status in ("active", "draft", "rejected"):
                q.status, q.reviewed_by, q.reviewed_at = "retired", examiner, now
    pending.decision = "approved" if body["approve"] else "rejected"
    pending.decided_by, pending.comment, pending.decided_at = examiner, body["comment"], now
    tx.session.flush()
    return revisions[-1]


def _pending_retirement(session, question_id: str) -> Retirement | None:
    return session.scalar(select(Retirement).where(Retirement.question_id == question_id,
                                                   Retirement.decision.is_(None)))


def _check_leaves_enough(session, revisions: list[Question], now: datetime) -> None:
    """Every scheduled sitting still ahead draws by its level's current blueprint."""
    active = next((q for q in revisions if q.status == "active"), None)
    counts = Counter(session.execute(select(Question.type, Question.area).where(Question.status == "active")).all())
    needs = []
    for level in LEVELS:
        sitting = session.scalars(select(Sitting).where(
            Sitting.status == "scheduled", Sitting.ends_at > now, Sitting.level.in_((level, "both")))
            .order_by(Sitting.starts_at).limit(1)).first()
        if sitting is not None:
            needs.append((current_blueprint(level), str(sitting.sitting_id), sitting.starts_at.isoformat()))
    bank.check_retirement_leaves_enough(counts, active and (active.type, active.area), needs)


def question_view(q: Question, retirement: Retirement | None = None) -> dict:
    pending = None
    if retirement is not None:
        pending = {"reason": retirement.reason, "requested_by": retirement.requested_by,
                   "requested_at": retirement.requested_at}
    return {**{c.key: getattr(q, c.key) for c in Question.__table__.columns}, "retirement_requested": pending}


def view_of(session, q: Question) -> dict:
    return question_view(q, _pending_retirement(session, q.question_id))


def listing(session, query: dict) -> dict:
    """A page of the questions, each by its latest revision among those matching
    the filter, in id order."""
    stmt = select(Question)
    for key in ("status", "type", "area"):
        if query.get(key):
            stmt = stmt.where(getattr(Question, key) == query[key])
    rows = session.scalars(stmt.order_by(Question.question_id, Question.revision)).all()
    latest = list({q.question_id: q for q in rows}.values())  # the highest revision of each wins
    shown = latest[query["offset"]:query["offset"] + query["limit"]]
    pending = {r.question_id: r for r in session.scalars(select(Retirement).where(
        Retirement.decision.is_(None), Retirement.question_id.in_([q.question_id for q in shown])))}
    return page([question_view(q, pending.get(q.question_id)) for q in shown], len(latest), query)


def revisions_view(session, question_id: str) -> dict:
    found = session.scalars(select(Question).where(Question.question_id == question_id)
                            .order_by(Question.revision)).all()
    if not found:
        raise NotFound(f"no question {question_id}")
    pending = _pending_retirement(session, question_id)
    return {"question_id": question_id, "revisions": [question_view(q, pending) for q in found]}
