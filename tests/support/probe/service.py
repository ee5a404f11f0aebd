"""A probe service for the reliability tests: it consumes `enrollment.enrolled`
through the same shared consumer as every real service and records one row per
effect. Configurable misbehaviour:

- full_name "POISON": the handler always raises;
- BLOCK_FILE set: the handler writes the effect, touches BLOCK_FILE + ".entered"
  and then waits forever inside the open transaction (to be killed there).
"""

import eventlet
from nameko.dependency_providers import Config
from sqlalchemy import insert

from shared.contracts import enrollment
from shared.service import ServiceBase, event_handler

from .models import effects


class Poisoned(Exception):
    pass


class ProbeService(ServiceBase):
    name = "probe"
    config = Config()

    @event_handler(enrollment.Enrolled)
    def record(self, tx, event):
        if event.data["full_name"] == "POISON":
            raise Poisoned("this event always fails")
        tx.session.execute(insert(effects).values(
            event_id=str(event.id), full_name=event.data["full_name"],
            redelivered=bool(self.config.get("REDELIVERY_RUN"))))
        block = self.config.get("BLOCK_FILE")
        if block:
            open(block + ".entered", "w").close()
            while True:  # killed here, mid-handler, before the commit
                eventlet.sleep(0.05)
