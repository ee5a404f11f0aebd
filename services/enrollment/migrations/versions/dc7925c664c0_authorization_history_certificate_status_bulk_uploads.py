"""bases authorization history, cancel and certificate status, bulk uploads

Revision ID: dc7925c664c0
Revises: 47caea43642c
Create Date: 2026-11-26 09:16:04.866403
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = 'dc7925c664c0'
down_revision = '47caea43642c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('authorization_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('base_code', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('authorized_from', sa.Date(), nullable=False),
    sa.Column('authorized_until', sa.Date(), nullable=False),
    sa.Column('suspended', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('at', shared.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['base_code'], ['training_bases.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('authorization_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorization_changes_base_code'), ['base_code'], unique=False)

    op.create_table('bulk_uploads',
    sa.Column('upload_id', sa.Uuid(), nullable=False),
    sa.Column('base_code', sa.String(length=32), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', shared.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['base_code'], ['training_bases.code'], ),
    sa.PrimaryKeyConstraint('upload_id'),
    sa.UniqueConstraint('base_code', 'content_sha256', name='uq_bulk_upload_content')
    )
    op.create_table('bulk_upload_rows',
    sa.Column('upload_id', sa.Uuid(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('enrollment_id', sa.Uuid(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['upload_id'], ['bulk_uploads.upload_id'], ),
    sa.PrimaryKeyConstraint('upload_id', 'row_number')
    )
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificate_serial', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('certificate_status', sa.String(length=20), nullable=True))
        batch_op.create_index('ix_enrollments_learner_level', ['learner_id', 'level'], unique=False)

    with op.batch_alter_table('registered_certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serial', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('revoked', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=1000), nullable=True))

    # Certificates recorded before this revision were valid first issues.
    op.execute("UPDATE enrollments SET certificate_status = 'valid', certificate_serial = 1 "
               "WHERE certificate_number IS NOT NULL")



def downgrade():
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.drop_column('note')

    with op.batch_alter_table('registered_certificates', schema=None) as batch_op:
        batch_op.drop_column('revoked')
        batch_op.drop_column('serial')

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollments_learner_level')
        batch_op.drop_column('certificate_status')
        batch_op.drop_column('certificate_serial')

    op.drop_table('bulk_upload_rows')
    op.drop_table('bulk_uploads')
    with op.batch_alter_table('authorization_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorization_changes_base_code'))

    op.drop_table('authorization_changes')
