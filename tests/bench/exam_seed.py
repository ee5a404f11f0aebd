"""A national sitting written straight into exam's database through its models
(for the exam benchmarks): one sitting, `papers` candidates each with a drawn
paper, optionally with answers already saved."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.exam import actions, question_bank
from services.exam.domain import scoring
from services.exam.domain.paper import BankQuestion, draw
from services.exam.models import Candidate, Paper, PaperQuestion, Question, Registration, Sitting
from shared.persistence import migrations
from shared.persistence.engine import make_engine

CHUNK = 20_000


def _answer(rng, type_, option_count, key, right_share):
    if type_ == "short_answer":
        return None if rng.random() < 0.3 else "按要点作答"
    if rng.random() < right_share:
        return key
    if type_ == "true_false":
        return not key
    letters = [chr(65 + i) for i in range(option_count)]
    return rng.choice(letters) if type_ == "single_choice" else sorted(rng.sample(letters, 2))


def seed(database_url: str, papers: int, starts: datetime, ends: datetime, answered: bool,
         right_share: float = 0.7, rng_seed: int = 7) -> list[dict]:
    """Returns, per paper: paper_id, learner_id and its questions' (type, option count)."""
    engine = make_engine(database_url)
    migrations.upgrade(engine, "services.exam")
    rng = random.Random(rng_seed)
    made = []
    with Session(engine.execution_options(cea_write=True)) as session:
        question_bank.seed(session, question_bank.read_bank_file(question_bank.SAMPLE_BANK))
        session.flush()
        questions = {(q.question_id, q.revision): q for q in session.scalars(select(Question))}
        bank = [BankQuestion(q.question_id, q.revision, q.type, q.area, tuple(o["key"] for o in q.options))
                for q in questions.values()]
        blueprint = actions.current_blueprint("L4")
        sitting_id = uuid.uuid4()
        session.add(Sitting(sitting_id=sitting_id, starts_at=starts, ends_at=ends, level="both",
                            capacity=papers, seats_taken=papers, registration_closes_at=starts,
                            origin="extra", status="scheduled"))
        session.flush()
        rows = {Candidate: [], Registration: [], Paper: [], PaperQuestion: []}
        opened = starts + timedelta(minutes=1)
        for i in range(papers):
            eid, lid, rid, pid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            rows[Candidate].append(dict(enrollment_id=eid, learner_id=lid, level="L4",
                                        coursework_completed_at=starts - timedelta(days=3)))
            rows[Registration].append(dict(registration_id=rid, enrollment_id=eid, learner_id=lid,
                                           sitting_id=sitting_id, level="L4", attempt_number=1,
                                           status="registered", registered_at=starts - timedelta(days=2),
                                           final=False))
            rows[Paper].append(dict(paper_id=pid, registration_id=rid, blueprint_version=blueprint.name,
                                    seed=i, opened_at=opened, closes_at=ends, status="open"))
            shape = []
            for d in draw(bank, blueprint, i):
                key = scoring.answer_key(d.type, questions[(d.question_id, d.revision)].answer, d.option_order)
                answer = _answer(rng, d.type, len(d.option_order), key, right_share) if answered else None
                rows[PaperQuestion].append(dict(
                    paper_id=pid, number=d.number, question_id=d.question_id, revision=d.revision, type=d.type,
                    points_tenths=int(d.points * 10), option_order=list(d.option_order), answer_key=key,
                    answer=answer, saved_at=opened if answer is not None else None))
                shape.append((d.type, len(d.option_order)))
            made.append({"paper_id": str(pid), "learner_id": str(lid), "questions": shape})
        for model, values in rows.items():
            for start in range(0, len(values), CHUNK):
                session.execute(insert(model), values[start:start + CHUNK])
        session.commit()
    engine.dispose()
    return made


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
