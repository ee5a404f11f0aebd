import pytest
from sqlalchemy import create_engine, select

from tests.support.events import enrolled  # noqa: F401  (the tests import it from here)
from tests.support.probe.models import effects
from tests.support.processes import ServiceProcess

PROBE = "tests.support.probe.service:ProbeService"


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
