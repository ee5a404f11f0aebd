"""The probe's one table: a row per effect, deliberately without a unique key,
so a second effect of one event would show as a second row."""
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table

from shared.persistence.tables import add_messaging_tables

metadata = MetaData()
add_messaging_tables(metadata)

effects = Table(
    "effects", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("full_name", String(100), nullable=False),
    Column("redelivered", Boolean, nullable=False),
)
