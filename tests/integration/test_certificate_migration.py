"""Certificate's migration to imports and status list indices upgrades a registry
that holds certificates: each gets its own bit, and new ones continue after them."""
import uuid

from alembic import command
from sqlalchemy import text

from shared.persistence import migrations
from shared.persistence.engine import make_engine

BEFORE_IMPORTS = "a54efaae6c89"


def test_certificates_already_issued_get_status_list_indices_in_issue_order(database_url_for):
    engine = make_engine(database_url_for("certificate"))
    try:
        with engine.begin() as conn:
            command.upgrade(migrations.alembic_config("services.certificate", conn), BEFORE_IMPORTS)
        sqlite = engine.dialect.name == "sqlite"
        with engine.begin() as conn:
            for n, at in ((1, "2026-03-02 00:00:00"), (2, "2026-03-01 00:00:00")):
                ids = {k: (u.hex if sqlite else str(u)) for k, u in
                       (("c", uuid.uuid4()), ("e", uuid.uuid4()), ("l", uuid.uuid4()))}
                conn.execute(text(
                    "INSERT INTO certificates (certificate_id, number, serial, enrollment_id, learner_id, level,"
                    " holder_name, id_number_hash, id_number_masked, base_code, base_name, issued_on, issued_at,"
                    f" status) VALUES (:c, 'N{n}', 1, :e, :l, 'L4', '王', 'h', 'm', 'B001', '基地', '2026-03-01',"
                    f" '{at}', 'valid')"), ids)

        migrations.upgrade(engine, "services.certificate")

        assert migrations.is_current(engine, "services.certificate")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT number, status_index, origin FROM certificates ORDER BY number")).all()
            assert [tuple(r) for r in rows] == [("N1", 1, "issued"), ("N2", 0, "issued")]
            assert conn.execute(text("SELECT last FROM number_sequences WHERE level = 'SL'")).scalar() == 2
    finally:
        engine.dispose()
