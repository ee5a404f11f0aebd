"""Load a question bank file into an exam database, from outside the image:

    python -m services.exam.load_bank /secure/bank-2027.yaml          # EXAM_DATABASE_URL
    make load-bank FILE=/secure/bank-2027.yaml

The file is checked whole first (every problem named by question id; nothing is
loaded from a file with one bad question). Questions not in the database yet are
added as revision 1, active; a question already there is never changed (a changed
question is a revision examiners make and review). The repository's sample bank is
refused unless --sample says it is meant (its answers are public). The database is
migrated first, so the bank can be loaded before the service's first start.
"""
from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.orm import Session

from shared.errors import InvalidInput
from shared.persistence import migrations
from shared.persistence.engine import make_engine

from . import question_bank

DEFAULT_URL = "sqlite:///var/db/exam.sqlite3"


def load(path: str, database_url: str, allow_sample: bool = False) -> int:
    """The number of questions added; raises InvalidInput for a bad or sample file."""
    bank_file = question_bank.read_bank_file(path)
    if bank_file.sample and not allow_sample:
        raise InvalidInput(f"{path} is the sample bank (sample: true): its answers are public; "
                           "pass --sample to load it anyway (development only)")
    engine = make_engine(database_url)
    try:
        migrations.upgrade(engine, "services.exam")
        with Session(engine.execution_options(cea_write=True)) as session, session.begin():
            return question_bank.seed(session, bank_file)
    finally:
        engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.exam.load_bank", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="the bank file (YAML: questions with id, type, area, prompt, "
                                     "options, answer or rubric)")
    parser.add_argument("--database-url", default=os.environ.get("EXAM_DATABASE_URL", DEFAULT_URL),
                        help="the exam database (default: EXAM_DATABASE_URL, else %(default)s)")
    parser.add_argument("--sample", action="store_true", help="allow the repository's sample bank")
    args = parser.parse_args(argv)
    try:
        added = load(args.file, args.database_url, args.sample)
    except FileNotFoundError:
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    except InvalidInput as exc:
        print(f"not loaded: {exc.detail}", file=sys.stderr)
        return 2
    print(f"{added} question(s) added from {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
