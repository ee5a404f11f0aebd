"""integrity: idempotency keys

Revision ID: e2c64b008e80
Revises: 93b894a1d5d5
Create Date: 2026-11-29 10:53:52.022534
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = 'e2c64b008e80'
down_revision = '93b894a1d5d5'
branch_labels = None
depends_on = None


def upgrade():
    # The kept answers of creating POSTs sent with an Idempotency-Key.
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


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created_at')
    op.drop_table('idempotency_keys')
