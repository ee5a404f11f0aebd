"""imported certificates have no enrollment

A certificate imported from before this system (certificate.imported) is in the
registry projection without an enrollment.

Revision ID: d96a6923b7cf
Revises: 84e8c35eea95
Create Date: 2026-11-29 14:36:55.477187
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = 'd96a6923b7cf'
down_revision = '84e8c35eea95'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registered_certificates', schema=None) as batch_op:
        batch_op.alter_column('enrollment_id',
               existing_type=sa.Uuid(),
               nullable=True)


def downgrade():
    with op.batch_alter_table('registered_certificates', schema=None) as batch_op:
        batch_op.alter_column('enrollment_id',
               existing_type=sa.Uuid(),
               nullable=False)
