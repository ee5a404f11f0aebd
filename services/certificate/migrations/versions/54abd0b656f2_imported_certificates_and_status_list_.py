"""imported certificates and status list indices

Certificates issued before this system are imported (origin, provenance; they have
no enrollment or learner here). Every record gets its bit in the published status
list: the records already there are numbered in issue order and the sequence row
("SL", 0) continues after them.

Revision ID: 54abd0b656f2
Revises: a54efaae6c89
Create Date: 2026-11-29 14:36:40.089449
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = '54abd0b656f2'
down_revision = 'a54efaae6c89'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=10), server_default=sa.text("'issued'"), nullable=False))
        batch_op.add_column(sa.Column('imported_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('imported_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('import_file_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('status_index', sa.Integer(), nullable=True))
        batch_op.alter_column('enrollment_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.alter_column('learner_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.create_unique_constraint('uq_certificates_status_index', ['status_index'])
    bind = op.get_bind()
    certificates = sa.table('certificates', sa.column('certificate_id', sa.Uuid()),
                            sa.column('issued_at', sa.String()), sa.column('status_index', sa.Integer()))
    ids = bind.execute(sa.select(certificates.c.certificate_id)
                       .order_by(certificates.c.issued_at, certificates.c.certificate_id)).scalars().all()
    for index, certificate_id in enumerate(ids):
        bind.execute(certificates.update().where(certificates.c.certificate_id == certificate_id)
                     .values(status_index=index))
    if ids:
        sequences = sa.table('number_sequences', sa.column('level', sa.String()), sa.column('year', sa.Integer()),
                             sa.column('last', sa.Integer()))
        bind.execute(sequences.insert().values(level='SL', year=0, last=len(ids)))


def downgrade():
    op.execute("DELETE FROM number_sequences WHERE level = 'SL' AND year = 0")
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint('uq_certificates_status_index', type_='unique')
        batch_op.alter_column('learner_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column('enrollment_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column('status_index')
        batch_op.drop_column('import_file_sha256')
        batch_op.drop_column('imported_by')
        batch_op.drop_column('imported_at')
        batch_op.drop_column('origin')
