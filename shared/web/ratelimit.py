"""Per-client rate limits counted in the service's own database, so that every
replica sees the same counters and a restart does not reset them (a counter in
process memory gives each replica its own allowance; the broker is no store).

A sliding window over two fixed windows: the previous window's hits weighted by
how much of it still overlaps the last period, plus the current window's. One
upsert and one read per request; old windows are dropped as new ones open.
A service with a rate-limited route adds the table with `add_rate_limit_table`
(and a migration); gateways in front may limit as well, this one holds regardless.
"""
from __future__ import annotations

import time

from limits import parse
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

TABLE = "rate_limit_hits"


def add_rate_limit_table(metadata: MetaData) -> Table:
    return Table(
        TABLE, metadata,
        Column("scope", String(200), primary_key=True),
        Column("client", String(64), primary_key=True),
        Column("window_start", BigInteger, primary_key=True),  # Unix seconds
        Column("hits", Integer, nullable=False),
    )


class RateLimiter:
    def __init__(self, database, clock=time.time):
        self.database, self.clock = database, clock

    def table(self) -> Table:
        return self.database.outbox.metadata.tables[TABLE]

    def check_ready(self) -> None:
        from shared.settings import CannotStart
        if TABLE not in self.database.outbox.metadata.tables:
            raise CannotStart(f"a route is rate-limited but the service's models have no {TABLE} "
                              "table (add_rate_limit_table and a migration)")

    def allow(self, limit: str, scope: str, client: str) -> bool:
        """Count this request; True while the client stays within `limit` ("30/minute")."""
        item = parse(limit)
        period = item.get_expiry()
        now = self.clock()
        window = int(now // period) * period
        table = self.table()
        key = {"scope": scope[:200], "client": client[:64]}
        with self.database.transaction() as tx:
            session = tx.session
            dialect = {"postgresql": postgresql, "sqlite": sqlite}[session.get_bind().dialect.name]
            stmt = dialect.insert(table).values(**key, window_start=window, hits=1)
            current = session.execute(stmt.on_conflict_do_update(
                index_elements=[table.c.scope, table.c.client, table.c.window_start],
                set_={"hits": table.c.hits + 1}).returning(table.c.hits)).scalar_one()
            previous = session.scalar(select(table.c.hits).where(
                table.c.scope == key["scope"], table.c.client == key["client"],
                table.c.window_start == window - period)) or 0
            if current == 1:  # a new window opened: what ended before the last one is history
                session.execute(delete(table).where(table.c.scope == key["scope"],
                                                    table.c.window_start < window - period))
        overlap = 1 - (now - window) / period
        return previous * overlap + current <= item.amount
