"""The messaging tables every service database holds beside its own:
the outbox (events waiting for the relay) and the inbox (events already handled)."""
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, text

from .types import BigId, UtcDateTime


def add_messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    outbox = Table(
        "outbox", metadata,
        Column("seq", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("type", String(100), nullable=False),
        Column("version", Integer, nullable=False),
        Column("correlation_id", String(36), nullable=False, index=True),
        Column("causation_id", String(36), nullable=True),
        Column("occurred_at", UtcDateTime, nullable=False),
        Column("body", Text, nullable=False),
        Column("published_at", UtcDateTime, nullable=True),
        # A relay claims rows for a short lease so replicas never publish the
        # same row at once; an expired lease (a relay that died) is reclaimed.
        Column("claimed_until", UtcDateTime, nullable=True),
        Column("claimed_by", String(200), nullable=True),
        Column("publish_attempts", Integer, nullable=False, server_default=text("0")),
    )
    Index("ix_outbox_unpublished", outbox.c.seq,
          sqlite_where=outbox.c.published_at.is_(None),
          postgresql_where=outbox.c.published_at.is_(None))
    inbox = Table(
        "inbox", metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("correlation_id", String(36), nullable=False, index=True),
        Column("occurred_at", UtcDateTime, nullable=False),
        Column("handled_at", UtcDateTime, nullable=False, index=True),  # the retention's pruning
    )
    return outbox, inbox
