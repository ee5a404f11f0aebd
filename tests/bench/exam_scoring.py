"""Closing a national sitting: 20,000 papers (answers saved) whose slot has ended,
closed and scored by the close action as the timer runs it, a batch per
transaction until none is left. Figures: wall time, papers per second.

    python -m tests.bench.exam_scoring [--papers 20000] [--database-url sqlite:///...]"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.exam import papers as paper_actions
from services.exam.models import Registration, metadata
from shared.persistence.engine import make_engine
from shared.persistence.transaction import Transaction

from .exam_seed import now_utc, seed


def close_until_done(engine, now) -> tuple[int, int]:
    """What the timer does (ExamService.close_due_papers), outside nameko."""
    batches = closed = 0
    outbox, inbox = metadata.tables["outbox"], metadata.tables["inbox"]
    while True:
        with Session(engine.execution_options(cea_write=True), expire_on_commit=False) as session:
            tx = Transaction(session, "exam")
            n = paper_actions.close_due(tx, now)
            tx.write_messaging_rows(outbox, inbox)
            session.commit()
        batches, closed = batches + 1, closed + n
        if n < paper_actions.CLOSE_BATCH:
            return closed, batches


def run(papers: int = 20_000, database_url: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/exam.sqlite3"
        ends = now_utc() - timedelta(minutes=1)
        seeded_at = time.perf_counter()
        seed(url, papers, ends - timedelta(minutes=90), ends, answered=True)
        seeding = time.perf_counter() - seeded_at
        engine = make_engine(url)
        started = time.perf_counter()
        closed, batches = close_until_done(engine, now_utc())
        seconds = time.perf_counter() - started
        with Session(engine) as session:
            final = session.scalar(select(func.count()).where(Registration.final.is_(True)))
        engine.dispose()
    assert closed == papers, (closed, papers)
    return {"n": papers, "seconds": round(seconds, 2), "rate": round(papers / seconds, 1),
            "batches": batches, "final_at_close": final, "seeding_seconds": round(seeding, 1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.exam_scoring")
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.papers, args.database_url), indent=2))


if __name__ == "__main__":
    main()
