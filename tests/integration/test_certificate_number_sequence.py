"""The certificate number sequence inside a consumer's batch transaction (real
SQLite database, migrated): fetched once, correct after a failed event's savepoint."""
from sqlalchemy.orm import Session

from services.certificate.actions import _next_sequence
from shared.persistence import migrations
from shared.persistence.engine import make_engine


def test_a_sequence_row_rolled_back_with_a_failed_event_is_fetched_again(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/certificate.sqlite3")
    migrations.upgrade(engine, "services.certificate")
    with Session(engine.execution_options(cea_write=True)) as session:
        try:
            with session.begin_nested():  # the first pass of the year: its event then fails
                assert _next_sequence(session, "L4", 2031) == 1
                raise RuntimeError("the handler failed after numbering")
        except RuntimeError:
            pass
        assert [_next_sequence(session, "L4", 2031) for _ in range(2)] == [1, 2]
        session.commit()
    with Session(engine) as session:
        assert _next_sequence(session, "L4", 2031) == 3
    engine.dispose()
