"""question analytics indexes: a module's attempts by submission time, and answers covering what is counted

Question analytics counts, for the module quizzes a scope submitted in a period (a year by default), every answer
by question, choice and the attempt's third by score. It read every attempt of the table for the period (at a
million officers some 10 million rows holding each quiz's draw and answers, gigabytes) and then each answer's row.
ix_attempts_module_submitted finds a module's attempts of the period; on PostgreSQL it holds the officer, score and
id (INCLUDE), and ix_attempt_answers_attempt_id holds each answer's question, choice and rightness, so both can be
read from the indexes alone. SQLite gets the new index on its key columns and keeps the answers' index as it was.

Revision ID: d2a7f4c9e1b6
Revises: c6f1a8d3e5b2
Create Date: 2026-11-29 21:30:00.000000
"""
from alembic import op

revision = 'd2a7f4c9e1b6'
down_revision = 'c6f1a8d3e5b2'
branch_labels = None
depends_on = None

ATTEMPTS = ['course_id', 'kind', 'submitted_at']


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index('ix_attempts_module_submitted', 'attempts', ATTEMPTS)
        return
    op.create_index('ix_attempts_module_submitted', 'attempts', ATTEMPTS, postgresql_include=['user_id', 'score', 'id'])
    op.drop_index('ix_attempt_answers_attempt_id', table_name='attempt_answers')
    op.create_index('ix_attempt_answers_attempt_id', 'attempt_answers', ['attempt_id'],
                    postgresql_include=['question_id', 'choice', 'correct'])


def downgrade() -> None:
    op.drop_index('ix_attempts_module_submitted', table_name='attempts')
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_index('ix_attempt_answers_attempt_id', table_name='attempt_answers')
    op.create_index('ix_attempt_answers_attempt_id', 'attempt_answers', ['attempt_id'])
