"""integrity: statement digests, idempotency keys

Revision ID: 84d82ea1b176
Revises: 521e6485a56b
Create Date: 2026-11-29 10:40:22.123523
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = '84d82ea1b176'
down_revision = '521e6485a56b'
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

    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_sha256', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_statements_content_sha256'), ['content_sha256'], unique=False)


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created_at')
    op.drop_table('idempotency_keys')

    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statements_content_sha256'))
        batch_op.drop_column('content_sha256')
