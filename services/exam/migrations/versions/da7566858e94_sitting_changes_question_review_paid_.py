"""sitting changes, question review, paid retakes, answer keys

Sittings remember the rule's slot (moved sittings are not generated again); an
attempt number is unique among registrations that count (cancelled and released
ones do not); papers carry each question's key in the candidate's letters.

Revision ID: da7566858e94
Revises: 8aace95f2d7d
Create Date: 2026-11-26 09:15:19.063235
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = 'da7566858e94'
down_revision = '8aace95f2d7d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('paid_retakes',
    sa.Column('enrollment_id', sa.Uuid(), nullable=False),
    sa.Column('attempt_number', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=True),
    sa.Column('required_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('paid_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('enrollment_id', 'attempt_number')
    )
    with op.batch_alter_table('paper_questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_key', sa.JSON(), nullable=True))

    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.create_index('ix_papers_due', ['status', 'closes_at'], unique=False)

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('written_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('written_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('review_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_attempt'), type_='unique')
        batch_op.create_index('ix_registrations_due', ['status', 'sitting_id'], unique=False)
        batch_op.create_index('uq_attempt_taken', ['enrollment_id', 'attempt_number'], unique=True, sqlite_where=sa.text("status IN ('registered', 'sat', 'absent')"), postgresql_where=sa.text("status IN ('registered', 'sat', 'absent')"))

    with op.batch_alter_table('sittings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_slot', shared.persistence.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('change_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('changed_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True))
    op.execute("UPDATE sittings SET rule_slot = starts_at WHERE origin = 'generated'")



def downgrade():
    with op.batch_alter_table('sittings', schema=None) as batch_op:
        batch_op.drop_column('changed_at')
        batch_op.drop_column('change_reason')
        batch_op.drop_column('rule_slot')

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('uq_attempt_taken', sqlite_where=sa.text("status IN ('registered', 'sat', 'absent')"), postgresql_where=sa.text("status IN ('registered', 'sat', 'absent')"))
        batch_op.drop_index('ix_registrations_due')
        batch_op.create_unique_constraint(batch_op.f('uq_attempt'), ['enrollment_id', 'attempt_number'])
        batch_op.drop_column('ended_at')

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('review_comment')
        batch_op.drop_column('reviewed_by')
        batch_op.drop_column('written_at')
        batch_op.drop_column('written_by')

    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.drop_index('ix_papers_due')

    with op.batch_alter_table('paper_questions', schema=None) as batch_op:
        batch_op.drop_column('answer_key')

    op.drop_table('paid_retakes')
