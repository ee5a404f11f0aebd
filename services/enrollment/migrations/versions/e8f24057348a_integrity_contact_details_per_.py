"""integrity: contact details per enrollment, idempotency keys

Revision ID: e8f24057348a
Revises: dc7925c664c0
Create Date: 2026-11-29 10:35:14.327826
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = 'e8f24057348a'
down_revision = 'dc7925c664c0'
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

    # Contact details move from the learner (shared by every base) to each base's
    # enrollment: existing enrollments keep the number their learner row held.
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile', sa.String(length=20), nullable=True))
    op.execute("UPDATE enrollments SET mobile = (SELECT learners.mobile FROM learners "
               "WHERE learners.learner_id = enrollments.learner_id)")
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.alter_column('mobile', existing_type=sa.String(length=20), nullable=False)

    with op.batch_alter_table('learners', schema=None) as batch_op:
        batch_op.drop_column('mobile')
        batch_op.drop_column('full_name')


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created_at')
    op.drop_table('idempotency_keys')

    with op.batch_alter_table('learners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_name', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('mobile', sa.String(length=20), nullable=False, server_default=''))

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_column('mobile')
