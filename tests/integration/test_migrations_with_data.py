"""Migrations upgrade a database that holds data, not only an empty one: on SQLite a
table change copies the table and drops the old one, which the foreign keys of the
rows pointing at it must not refuse (found: `make run` on an existing enrollment
database failed with "FOREIGN KEY constraint failed" at DROP TABLE enrollments)."""
import uuid

from alembic import command
from sqlalchemy import text

from shared.persistence import migrations
from shared.persistence.engine import make_engine

BEFORE_CONTACTS_MOVED = "dc7925c664c0"  # enrollment, before e8f24057348a moved the mobile


def test_enrollment_upgrades_a_database_with_enrollments_and_their_history(database_url_for):
    engine = make_engine(database_url_for("enrollment"))
    try:
        with engine.begin() as conn:
            command.upgrade(migrations.alembic_config("services.enrollment", conn), BEFORE_CONTACTS_MOVED)
        learner, enrollment = uuid.uuid4(), uuid.uuid4()
        ids = {"learner": learner.hex if engine.dialect.name == "sqlite" else str(learner),
               "enrollment": enrollment.hex if engine.dialect.name == "sqlite" else str(enrollment)}
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO training_bases (code, name, contact, authorized_from, authorized_until, suspended,"
                " registered_at) VALUES ('B001', '基地', '联系人', '2026-01-01', '2028-12-31', false,"
                " '2026-01-01 00:00:00')"))
            conn.execute(text(
                "INSERT INTO learners (learner_id, id_number_hash, id_number_masked, full_name, mobile)"
                " VALUES (:learner, 'h', '3604**********0071', '张三', '13800138000')"), ids)
            conn.execute(text(
                "INSERT INTO enrollments (enrollment_id, learner_id, base_code, level, status, full_name,"
                " education_tier, education_status, related_work_months, work_months_since_l4, sector,"
                " submitted_at, updated_at, exam_attempts) VALUES (:enrollment, :learner, 'B001', 'L4',"
                " 'active', '张三', 'bachelor', 'graduated', 24, 0, 'power', '2026-11-01 00:00:00',"
                " '2026-11-01 00:00:00', 0)"), ids)
            conn.execute(text(
                "INSERT INTO status_changes (enrollment_id, from_status, to_status, cause, cause_id, at)"
                " VALUES (:enrollment, NULL, 'submitted', 'application', 'op-1', '2026-11-01 00:00:00')"), ids)

        migrations.upgrade(engine, "services.enrollment")

        assert migrations.is_current(engine, "services.enrollment")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT mobile, status FROM enrollments")).one() == ("13800138000", "active")
            assert conn.execute(text("SELECT count(*) FROM status_changes")).scalar() == 1
    finally:
        engine.dispose()


BEFORE_STUDY_TIME_FITS = "2d2c69627e60"  # learning, before d482430a83f8 (session ends, live sessions)


def test_learning_upgrades_a_database_with_accounts_and_reported_sessions(database_url_for):
    engine = make_engine(database_url_for("learning"))
    try:
        with engine.begin() as conn:
            command.upgrade(migrations.alembic_config("services.learning", conn), BEFORE_STUDY_TIME_FITS)
        account, learner, enrollment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        as_text = (lambda u: u.hex) if engine.dialect.name == "sqlite" else str
        ids = {"account": as_text(account), "learner": as_text(learner), "enrollment": as_text(enrollment)}
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO accounts (account_id, enrollment_id, learner_id, level, base_code, catalog_version,"
                " valid_from, valid_until, status, opened_at) VALUES (:account, :enrollment, :learner, 'L4',"
                " 'B001', '2026.1', '2026-11-01', '2027-05-01', 'active', '2026-11-01 00:00:00')"), ids)
            conn.execute(text(
                "INSERT INTO study_sessions (account_id, learner_id, session_id, course_code, started_at,"
                " study_day, minutes_reported, minutes_accepted, minutes_refused, refusal_reason, recorded_at)"
                " VALUES (:account, :learner, 's-1', 'F01', '2026-11-02 01:00:00', '2026-11-02', 60, 50, 10,"
                " 'daily study cap', '2026-11-02 02:00:00')"), ids)

        migrations.upgrade(engine, "services.learning")

        assert migrations.is_current(engine, "services.learning")
        with engine.connect() as conn:
            row = conn.execute(text("SELECT session_id, minutes_accepted, ended_at, refusals FROM study_sessions")).one()
            assert tuple(row) == ("s-1", 50, None, None)  # read as started_at + minutes_accepted
            assert conn.execute(text("SELECT count(*) FROM live_sessions")).scalar() == 0
    finally:
        engine.dispose()
