"""How long a service remembers the events it handled (the inbox).

The inbox exists to drop a second delivery of an event already handled. A second
delivery comes from a redelivery (a consumer that died before its ack: minutes), a
republished outbox row (a relay that died before recording its confirm: the claim's
lease, a minute) or a retry (the retry queues, minutes; an event that came too early,
`DEFER_MAX_ATTEMPTS` at the longest delay, about 80 minutes). The longest wait is a
copy sitting in a queue while its service is down: the retention (30 days by
default, `INBOX_RETENTION_DAYS`) is far past every one of these, and an operator
alert fires long before a queue holds a day-old message (deploy/monitoring).
Dead letters are events that were never handled, so replaying one never meets a
forgotten id. Rows go in small batches, each its own short transaction, so that
handlers never wait long behind the pruning.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, tuple_

BATCH = 1000


def prune_handled(database, before: datetime, batch: int = BATCH) -> int:
    """Delete up to `batch` inbox rows handled before `before`; how many went."""
    inbox = database.inbox
    with database.transaction() as tx:
        keys = tx.session.execute(select(inbox.c.consumer, inbox.c.event_id)
                                  .where(inbox.c.handled_at < before).limit(batch)).all()
        if keys:
            tx.session.execute(delete(inbox).where(tuple_(inbox.c.consumer, inbox.c.event_id).in_(keys)))
    return len(keys)
