"""A breaking change is a new version, handled beside the old one while both are in
flight (docs/architecture.md, "Changing a contract"): one consumer, one queue, a handler per
(type, version), on the real broker."""
import uuid

import pytest
from sqlalchemy import create_engine, select

from shared.contracts import encode, new_event
from tests.support.probe.models import effects
from tests.support.probe.versioned import RenamedV1, RenamedV2, VersionedProbeService, registered
from tests.support.wait import wait_for


@pytest.fixture
def versions():
    with registered():
        yield


def effects_by_event(database_url) -> dict[str, str]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as conn:
            return {row.event_id: row.full_name for row in conn.execute(select(effects))}
    finally:
        engine.dispose()


def test_one_consumer_handles_v1_and_v2_of_one_event_side_by_side(versions, services, bus):
    services.start(VersionedProbeService)
    learner = uuid.uuid4()
    old = new_event(RenamedV1, {"learner_id": learner, "full_name": "张三"}, correlation_id=learner)
    new = new_event(RenamedV2, {"learner_id": learner, "family_name": "李", "given_name": "四"},
                    correlation_id=learner)
    assert (old.type, old.version, new.type, new.version) == ("testbed.renamed", 1, "testbed.renamed", 2)
    bus.publish(new)  # the new producer is already out ...
    bus.publish(old)  # ... while an old event is still in flight

    handled = wait_for(lambda: (found := effects_by_event(services.database_urls["probe"]))
                       and len(found) == 2 and found)
    assert handled == {str(old.id): "v1 张三", str(new.id): "v2 李四"}


def test_each_version_is_held_to_its_own_contract(versions):
    """v2 data without v2's fields is invalid as v2, whatever v1 accepts."""
    from shared.contracts import InvalidEvent, decode
    learner = uuid.uuid4()
    old = new_event(RenamedV1, {"learner_id": learner, "full_name": "张三"}, correlation_id=learner)
    body = encode(old).replace(b'"version":1', b'"version":2')
    with pytest.raises(InvalidEvent, match="family_name"):
        decode(body)
