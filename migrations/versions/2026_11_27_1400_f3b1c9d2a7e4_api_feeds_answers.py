"""API tokens, calendar feed tokens, and one row per answer of each submitted attempt

api_tokens holds the SHA-256 of each API token with its scope; users gain the
SHA-256 of their calendar address's token; attempt_answers holds each answer of
a submitted attempt (the choice in the question's own order, and whether it was
right), back-filled from the attempts submitted so far, so question analytics
count in SQL.

Revision ID: f3b1c9d2a7e4
Revises: e2a7c4d91b36
Create Date: 2026-11-27 14:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'f3b1c9d2a7e4'
down_revision = 'e2a7c4d91b36'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('can_write', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_api_tokens_agency_id_agencies')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_api_tokens_unit_id_units')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_api_tokens_revoked_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    op.add_column('users', sa.Column('calendar_token_hash', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_users_calendar_token_hash'), 'users', ['calendar_token_hash'], unique=True)
    op.create_table(
        'attempt_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('choice', sa.Integer(), nullable=False),
        sa.Column('correct', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_attempt_answers_attempt_id_attempts')),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'],
                                name=op.f('fk_attempt_answers_question_id_questions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_answers')),
    )
    op.create_index(op.f('ix_attempt_answers_attempt_id'), 'attempt_answers', ['attempt_id'], unique=False)
    op.create_index(op.f('ix_attempt_answers_question_id'), 'attempt_answers', ['question_id'], unique=False)
    _backfill_answers()


def _backfill_answers() -> None:
    """One row per answer of every submitted attempt, from the attempt's own record of its answers."""
    bind = op.get_bind()
    attempts = sa.table('attempts', sa.column('id'), sa.column('answers', sa.JSON))
    questions = sa.table('questions', sa.column('id'), sa.column('answer_index'))
    answers = sa.table('attempt_answers', sa.column('attempt_id'), sa.column('question_id'),
                       sa.column('choice'), sa.column('correct', sa.Boolean))
    key = dict(bind.execute(sa.select(questions.c.id, questions.c.answer_index)).all())
    last = 0
    while True:
        rows = bind.execute(sa.select(attempts.c.id, attempts.c.answers)
                            .where(attempts.c.id > last, attempts.c.answers.is_not(None))
                            .order_by(attempts.c.id).limit(BATCH)).all()
        if not rows:
            return
        values = [{"attempt_id": attempt_id, "question_id": int(question), "choice": choice,
                   "correct": key.get(int(question)) == choice}
                  for attempt_id, given in rows for question, choice in given.items() if int(question) in key]
        if values:
            bind.execute(answers.insert(), values)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index(op.f('ix_attempt_answers_question_id'), table_name='attempt_answers')
    op.drop_index(op.f('ix_attempt_answers_attempt_id'), table_name='attempt_answers')
    op.drop_table('attempt_answers')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_calendar_token_hash'))
        batch_op.drop_column('calendar_token_hash')
    op.drop_table('api_tokens')
