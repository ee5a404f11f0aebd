"""What must hold after a scenario, read from the services' own databases and the
broker: every learner who paid has one paid order, one learning account, one counted
exam registration, one graded result and one certificate; nothing is stuck in an
outbox; dead-letter queues hold exactly what the scenario put there; every service
queue has a consumer and is drained."""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from shared.messaging import topology
from shared.ops.local import SERVICES


@dataclass
class Check:
    certified: int = 0
    lost: list = field(default_factory=list)          # paid, not certified in the end
    duplicated: dict = field(default_factory=dict)    # effect -> enrollments with two or more
    outbox_backlog: dict = field(default_factory=dict)
    dead_letters: dict = field(default_factory=dict)
    queues: dict = field(default_factory=dict)        # queue -> problem (messages, no consumer)

    def holds(self, expected_dead_letters: dict) -> bool:
        return (not self.lost and not any(self.duplicated.values()) and not any(self.outbox_backlog.values())
                and self.dead_letters == {**{s: 0 for s in SERVICES}, **expected_dead_letters}
                and not self.queues)

    def problems(self, expected_dead_letters: dict) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} paid learners not certified")
        found += [f"{len(ids)} enrollments with more than one {what}" for what, ids in self.duplicated.items() if ids]
        found += [f"{n} events unpublished in {s}'s outbox" for s, n in self.outbox_backlog.items() if n]
        want = {**{s: 0 for s in SERVICES}, **expected_dead_letters}
        found += [f"{s}.dead-letter holds {n}, expected {want[s]}" for s, n in self.dead_letters.items()
                  if n != want[s]]
        found += [f"{q}: {problem}" for q, problem in self.queues.items()]
        return found


def _key(value) -> str:
    """SQLite keeps UUIDs as 32 hex digits, PostgreSQL and the outbox with hyphens."""
    return uuid.UUID(str(value)).hex


def _counts(rows) -> Counter:
    return Counter(_key(r[0]) for r in rows)


def check(system, paid_enrollments: set[str]) -> Check:
    result = Check()
    q = system.query
    orders = _counts(q("billing", "SELECT enrollment_id FROM orders WHERE retake_attempt = 0 AND status = 'paid'"))
    accounts = _counts(q("learning", "SELECT enrollment_id FROM accounts"))
    registrations = _counts(q("exam", "SELECT enrollment_id FROM registrations "
                                      "WHERE status IN ('registered', 'sat', 'absent')"))
    graded = _counts(q("exam", "SELECT correlation_id FROM outbox WHERE type = 'exam.graded'"))
    certificates = _counts(q("certificate", "SELECT enrollment_id FROM certificates WHERE serial = 1"))
    issued = _counts(q("certificate", "SELECT correlation_id FROM outbox WHERE type = 'certificate.issued'"))
    status = {_key(e): s for e, s in q("enrollment", "SELECT enrollment_id, status FROM enrollments")}
    for what, counts in (("paid order", orders), ("learning account", accounts),
                         ("counted registration", registrations), ("exam.graded", graded),
                         ("certificate", certificates), ("certificate.issued", issued)):
        result.duplicated[what] = sorted(e for e, n in counts.items() if n > 1)
    for eid in map(_key, paid_enrollments):
        complete = (orders[eid] == 1 and accounts[eid] == 1 and certificates[eid] == 1
                    and status.get(eid) == "certified")
        if complete:
            result.certified += 1
        else:
            result.lost.append(eid)
    for service in SERVICES:
        result.outbox_backlog[service] = q(service, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
    queues = system.broker.queues()
    for service in SERVICES:
        result.dead_letters[service] = queues.get(topology.dead_letter_queue(service), {}).get("messages", 0)
        main = queues.get(topology.service_queue(service))
        if main is None:
            continue  # a service that consumes nothing has no queue
        if main.get("consumers", 0) < 1:
            result.queues[main["name"]] = "no consumer"
        elif main.get("messages", 0):
            result.queues[main["name"]] = f"{main['messages']} messages not drained"
        for name, other in queues.items():
            if name.startswith(f"{service}.retry.") and other.get("messages", 0):
                result.queues[name] = f"{other['messages']} messages waiting to be retried"
    return result
