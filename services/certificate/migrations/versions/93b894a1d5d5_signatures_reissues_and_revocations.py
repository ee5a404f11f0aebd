"""signatures, reissues and revocations

A correction adds a record with the same enrollment and number and the next serial,
so the one-row-per-enrollment constraint becomes one per (enrollment, serial) and
(number, serial). The initial revision left that constraint unnamed: PostgreSQL
named it certificates_enrollment_id_key; on SQLite the batch copy names it through
a naming convention so it can be dropped.

Revision ID: 93b894a1d5d5
Revises: 9ed4a8331e03
Create Date: 2026-11-26 09:15:30.750760
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = '93b894a1d5d5'
down_revision = '9ed4a8331e03'
branch_labels = None
depends_on = None

_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_unique_name() -> str:
    return ("certificates_enrollment_id_key" if op.get_bind().dialect.name == "postgresql"
            else "uq_certificates_enrollment_id")


def upgrade():
    with op.batch_alter_table('certificates', schema=None, naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint(_old_unique_name(), type_='unique')
        batch_op.add_column(sa.Column('key_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('signature', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('correction_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('status_changed_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revocation_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_certificates_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_unique_constraint('uq_certificates_enrollment_serial', ['enrollment_id', 'serial'])
        batch_op.create_unique_constraint('uq_certificates_number_serial', ['number', 'serial'])


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint('uq_certificates_number_serial', type_='unique')
        batch_op.drop_constraint('uq_certificates_enrollment_serial', type_='unique')
        batch_op.drop_index(batch_op.f('ix_certificates_enrollment_id'))
        batch_op.drop_column('revocation_reason')
        batch_op.drop_column('status_changed_at')
        batch_op.drop_column('correction_reason')
        batch_op.drop_column('signature')
        batch_op.drop_column('key_id')
        batch_op.create_unique_constraint(_old_unique_name(), ['enrollment_id'])
