"""Two versions of one test-only event type, and a probe service that handles both
side by side, as a real consumer does while a breaking change rolls out
(docs/architecture.md, "Changing a contract").

`testbed.renamed` v1 carries `full_name`; v2 replaced it by `family_name` and
`given_name` (a field removed: a breaking change, so a new version). The service
records one row per event in the probe's `effects` table: "v<version> <name>".

The two contracts are declared here but registered only while a test uses them
(`registered()`), so that the catalog, the snapshots and the topology of every
other test see the project's real contracts alone.
"""
from contextlib import contextmanager

from marshmallow import fields
from sqlalchemy import insert

from shared.contracts import REGISTRY
from shared.contracts import compiled
from shared.contracts.fields import text, uuid
from shared.contracts.registry import EventData, contract
from shared.service import ServiceBase, event_handler

from .models import effects


@contract("testbed.renamed", 1, producer="testbed", consumers=("probe",))
class RenamedV1(EventData):
    """Test only: a learner's name, in one field."""
    learner_id = uuid("The learner.")
    full_name = text("The learner's full name.")


@contract("testbed.renamed", 2, producer="testbed", consumers=("probe",))
class RenamedV2(EventData):
    """Test only: a learner's name, in two fields (v1's `full_name` is gone)."""
    learner_id = uuid("The learner.")
    family_name = text("The family name (姓).")
    given_name = text("The given name (名).")
    nickname = fields.Str(required=False, load_default=None, allow_none=True,
                          metadata={"description": "Optional, absent in most events."})


VERSIONS = (RenamedV1, RenamedV2)
for _schema in VERSIONS:  # declared, not registered: see registered()
    REGISTRY.pop(_schema.contract.key)


@contextmanager
def registered():
    """The two versions in the registry for the duration (the consumer decodes with it)."""
    for schema in VERSIONS:
        REGISTRY[schema.contract.key] = schema.contract
    try:
        yield VERSIONS
    finally:
        for schema in VERSIONS:
            REGISTRY.pop(schema.contract.key, None)
            compiled._compiled.pop(schema.contract.key, None)


class VersionedProbeService(ServiceBase):
    name = "probe"

    @event_handler(RenamedV1)
    def record_renamed_v1(self, tx, event):
        self._record(tx, event, event.data["full_name"])

    @event_handler(RenamedV2)
    def record_renamed_v2(self, tx, event):
        self._record(tx, event, event.data["family_name"] + event.data["given_name"])

    @staticmethod
    def _record(tx, event, name: str) -> None:
        tx.session.execute(insert(effects).values(
            event_id=str(event.id), full_name=f"v{event.version} {name}", redelivered=False))
