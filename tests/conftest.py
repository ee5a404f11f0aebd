# nameko's containers need the eventlet monkeypatch before anything else imports
# socket or threading (plain pytest otherwise hangs on the first container started).
import eventlet

eventlet.monkey_patch()  # noqa: E402

import os  # noqa: E402

# Producers validate every event they emit in full during tests (production only
# checks required fields; consumers validate everything either way).
os.environ.setdefault("CEA_STRICT_EVENTS", "1")
# Tests talk to the local broker as guest: the development profile (processes the
# tests start inherit it; tests of the production profile set it themselves).
os.environ.setdefault("CEA_PROFILE", "development")
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402

from shared.tokens import generate_key_pair  # noqa: E402
from tests.support import infra  # noqa: E402
from tests.support.actions_db import ActionsDatabase  # noqa: E402
from tests.support.bus import Bus  # noqa: E402
from tests.support.sinks import MailSink  # noqa: E402
from tests.support.services import RunningServices  # noqa: E402

BACKENDS = ["sqlite", "postgresql"]


def pytest_sessionstart(session):
    infra.delete_stale_vhosts()
    if infra.postgres_available():
        infra.drop_stale_databases()


@dataclass(frozen=True)
class Keys:
    private: bytes
    public: bytes


@pytest.fixture(scope="session")
def keys():
    private, public = generate_key_pair()
    return Keys(private, public)


@pytest.fixture
def vhost():
    name = infra.create_vhost()
    yield name
    infra.delete_vhost(name)


@pytest.fixture
def amqp_uri(vhost):
    return infra.amqp_uri(vhost)


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "postgresql" and not infra.postgres_available():
        if os.environ.get("CEA_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (CEA_REQUIRE_POSTGRES) but not reachable")
        pytest.skip("PostgreSQL not reachable")
    return request.param


@pytest.fixture
def database_url_for(backend, tmp_path):
    """A fresh database per service name on the chosen backend."""
    made = []

    def make(label: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path}/{label}.sqlite3"
        url = infra.create_database(label)
        made.append(url)
        return url

    yield make
    for url in made:
        infra.drop_database(url)


@pytest.fixture
def actions_db(tmp_path):
    """The fast tier (tests/support/actions_db.py): `actions_db("learning")` is that
    service's migrated SQLite database, to run its actions or handlers in a real
    transaction without a broker."""
    made = []

    def make(service: str) -> ActionsDatabase:
        made.append(ActionsDatabase(service, tmp_path))
        return made[-1]

    yield make
    for db in made:
        db.close()


@pytest.fixture
def services(amqp_uri, database_url_for, keys, tmp_path):
    running = RunningServices(amqp_uri, database_url_for, keys, tmp_path)
    yield running
    running.stop_all()


@pytest.fixture
def mail_sink(tmp_path):
    """The SMTP sink as its own process (as `make run` starts it), on a free port."""
    sink = MailSink(tmp_path / "mail").start()
    yield sink
    sink.stop()


@pytest.fixture
def bus(amqp_uri):
    b = Bus(amqp_uri)
    yield b
    b.close()
