"""idempotency keys and rate limit counters shared by replicas

Revision ID: be36bb63fe12
Revises: 037fc93168cf
Create Date: 2026-11-29 11:40:36.254523
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = 'be36bb63fe12'
down_revision = '037fc93168cf'
branch_labels = None
depends_on = None


def upgrade():
    # The kept answers of creating POSTs sent with an Idempotency-Key (staff, grants).
    op.create_table('idempotency_keys',
    sa.Column('caller', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('caller', 'key')
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created_at', ['created_at'], unique=False)

    # The login endpoints' per-client counters, one store for every replica.
    op.create_table('rate_limit_hits',
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'client', 'window_start')
    )


def downgrade():
    op.drop_table('rate_limit_hits')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created_at')

    op.drop_table('idempotency_keys')
