"""integrity: sitting slots free when cancelled, idempotency keys, retirement review

Revision ID: 21171b5f1d5a
Revises: da7566858e94
Create Date: 2026-11-29 10:31:40.666555
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = '21171b5f1d5a'
down_revision = 'da7566858e94'
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

    # A cancelled sitting frees its slot: one scheduled sitting per origin, start and level.
    with op.batch_alter_table('sittings', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sitting_slot', type_='unique')
        batch_op.create_index('uq_sitting_slot', ['origin', 'starts_at', 'level'], unique=True,
                              sqlite_where=sa.text("status = 'scheduled'"),
                              postgresql_where=sa.text("status = 'scheduled'"))

    # Retiring a question takes a second examiner.
    op.create_table('question_retirements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('question_id', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('decided_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('question_retirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_retirements_question_id'), ['question_id'], unique=False)
        batch_op.create_index('uq_pending_retirement', ['question_id'], unique=True,
                              sqlite_where=sa.text('decision IS NULL'), postgresql_where=sa.text('decision IS NULL'))


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created_at')
    op.drop_table('idempotency_keys')

    with op.batch_alter_table('question_retirements', schema=None) as batch_op:
        batch_op.drop_index('uq_pending_retirement')
        batch_op.drop_index(batch_op.f('ix_question_retirements_question_id'))
    op.drop_table('question_retirements')

    with op.batch_alter_table('sittings', schema=None) as batch_op:
        batch_op.drop_index('uq_sitting_slot')
        batch_op.create_unique_constraint('uq_sitting_slot', ['origin', 'starts_at', 'level'])
