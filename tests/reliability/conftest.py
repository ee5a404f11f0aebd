import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import create_engine, func, select

from shared.contracts import new_event
from shared.contracts.enrollment import Enrolled
from tests.support.probe.models import effects
from tests.support.processes import ServiceProcess

PROBE = "tests.support.probe.service:ProbeService"


def enrolled(full_name="张三", enrollment_id=None):
    enrollment_id = enrollment_id or uuid.uuid4()
    return new_event(Enrolled, {
        "enrollment_id": enrollment_id, "learner_id": uuid.uuid4(), "level": "L4",
        "full_name": full_name, "id_number_hash": "ab" * 32, "id_number_masked": "3604**********0071",
        "base_code": "B001", "base_name": "江西碳排放培训基地", "enrolled_on": date(2026, 11, 24),
        "enrolled_at": datetime.now(timezone.utc)}, correlation_id=enrollment_id)


def effect_rows(database_url, event_id=None):
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as conn:
            stmt = select(effects)
            if event_id:
                stmt = stmt.where(effects.c.event_id == str(event_id))
            return conn.execute(stmt).all()
    finally:
        engine.dispose()


@pytest.fixture
def process_factory(tmp_path, services):
    """Services as separate processes, on the test's vhost and databases."""
    started = []

    def make(target, name, label=None, **overrides) -> ServiceProcess:
        proc = ServiceProcess(target, services.config(name, **overrides), tmp_path, label or name)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.kill()
