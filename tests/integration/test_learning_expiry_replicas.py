"""Two learning replicas (separate service processes on one database) expire a
backlog of ended accounts together: each account expires exactly once."""
from collections import Counter
from datetime import timedelta

from shared.calendar import utcnow
from tests.support import events
from tests.support.processes import ServiceProcess
from tests.support.services import SERVICE_CLASSES

ACCOUNTS = 40


def test_two_replicas_expire_every_ended_account_exactly_once(services, bus, tmp_path):
    sink = bus.sink("learning.account-opened", "learning.account-expired")
    # Small claims, frequent ticks: the two timers interleave over the backlog.
    config = services.config("learning", EXPIRY_INTERVAL_SECONDS=0.1, EXPIRY_BATCH=3)
    replicas = [ServiceProcess(SERVICE_CLASSES["learning"], config, tmp_path, f"learning-{i}")
                for i in range(2)]
    try:
        replicas[0].start()  # the first migrates; the second finds the schema current
        replicas[1].start()
        long_ago = utcnow() - timedelta(days=200)
        ended = []
        for _ in range(ACCOUNTS):
            enrolled = events.enrolled()
            bus.publish(enrolled)
            bus.publish(events.paid_on(enrolled, long_ago))
            ended.append(enrolled.data["enrollment_id"])
        for eid in ended:
            sink.expect("learning.account-expired", timeout=60,
                        where=lambda e, eid=eid: str(e.data["enrollment_id"]) == eid)
        sink.drain(quiet=1.5)
    finally:
        for replica in replicas:
            replica.stop()
    counts = Counter(str(e.data["enrollment_id"]) for e in sink.of_type("learning.account-expired"))
    assert counts == Counter(ended)
    assert len(sink.of_type("learning.account-opened")) == ACCOUNTS
