"""study time that fits: session ends and refusals, live sessions

A reported session keeps the end of the time it claims (ended_at; sessions recorded
before are read as started_at + minutes_accepted) and its refusals by rule; the
learner's sessions are found by time for the overlap rule; live sessions (started,
kept alive by heartbeats, ended) get their own table.

Revision ID: d482430a83f8
Revises: 2d2c69627e60
Create Date: 2026-11-29 14:18:14.588748
"""
from alembic import op
import sqlalchemy as sa
import shared.persistence.types


revision = 'd482430a83f8'
down_revision = '2d2c69627e60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('live_sessions',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('learner_id', sa.Uuid(), nullable=False),
    sa.Column('course_code', sa.String(length=10), nullable=False),
    sa.Column('started_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_beat_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('heartbeats', sa.Integer(), nullable=False),
    sa.Column('active_seconds', sa.Integer(), nullable=False),
    sa.Column('idle_seconds', sa.Integer(), nullable=False),
    sa.Column('overlapped_seconds', sa.Integer(), nullable=False),
    sa.Column('credited_minutes', sa.Integer(), nullable=False),
    sa.Column('minutes_accepted', sa.Integer(), nullable=False),
    sa.Column('minutes_refused', sa.Integer(), nullable=False),
    sa.Column('refused_by_rule', sa.JSON(), nullable=False),
    sa.Column('last_refusals', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], ),
    sa.PrimaryKeyConstraint('session_id')
    )
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_sessions_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_live_sessions_learner_last_beat', ['learner_id', 'last_beat_at'], unique=False)

    with op.batch_alter_table('study_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_at', shared.persistence.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('refusals', sa.JSON(), nullable=True))
        batch_op.create_index('ix_study_sessions_learner_started', ['learner_id', 'started_at'], unique=False)



def downgrade():
    with op.batch_alter_table('study_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_study_sessions_learner_started')
        batch_op.drop_column('refusals')
        batch_op.drop_column('ended_at')

    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_live_sessions_learner_last_beat')
        batch_op.drop_index(batch_op.f('ix_live_sessions_account_id'))

    op.drop_table('live_sessions')
