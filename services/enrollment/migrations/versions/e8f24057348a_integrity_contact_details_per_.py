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
    with op.batch_alter_table('learners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_name', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('mobile', sa.String(length=20), nullable=False, server_default=''))

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_column('mobile')
