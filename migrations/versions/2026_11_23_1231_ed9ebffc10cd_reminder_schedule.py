"""reminder schedule

Revision ID: ed9ebffc10cd
Revises: 5c1e7a2b9d40
Create Date: 2026-11-23 12:19:10.202953
"""
import sqlalchemy as sa
from alembic import op

revision = 'ed9ebffc10cd'
down_revision = '5c1e7a2b9d40'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('step_days', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_escalations_course_id_courses')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_escalations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations')),
    sa.UniqueConstraint('user_id', 'course_id', 'due_on', 'step_days', name=op.f('uq_escalations_user_id_course_id_due_on_step_days'))
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_decided_on'), ['decided_on'], unique=False)

    # Messages are now written when they are sent; rows queued before keep their day.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
    day = "date(created_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(created_at AS DATE)"
    op.execute(f"UPDATE outbox SET decided_on = {day}")
    op.execute("DELETE FROM outbox WHERE user_id IS NULL")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('decided_on', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.alter_column('subject',
               existing_type=sa.VARCHAR(length=300),
               nullable=True)
        batch_op.drop_index(batch_op.f('ix_outbox_user_id'))
        batch_op.create_index('ix_outbox_recipient', ['user_id', 'course_id', 'due_on'], unique=False)
        batch_op.drop_column('to_email')
        batch_op.drop_column('body_text')
        batch_op.drop_column('body_html')



def downgrade() -> None:
    op.execute("UPDATE outbox SET subject = '' WHERE subject IS NULL")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_html', sa.TEXT(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('body_text', sa.TEXT(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('to_email', sa.VARCHAR(length=254), nullable=False, server_default=''))
        batch_op.drop_index('ix_outbox_recipient')
        batch_op.create_index(batch_op.f('ix_outbox_user_id'), ['user_id'], unique=False)
        batch_op.alter_column('subject',
               existing_type=sa.VARCHAR(length=300),
               nullable=False, server_default='')
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('decided_on')

    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalations_decided_on'))

    op.drop_table('escalations')
    op.drop_table('job_leases')
