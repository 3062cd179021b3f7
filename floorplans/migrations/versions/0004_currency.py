"""Currency: reminders sent to partners before a record goes stale, administrators' reviews

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00

Hand-written.  Two new tables, no change to existing ones, so it runs the same on SQLite
(no batch rebuild needed) and PostgreSQL.  The unique constraint on building_reminders is
what makes "one reminder per threshold crossing" hold when cron and the job worker run at
the same time.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('building_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.String(length=10), nullable=False),
    sa.Column('verified_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_building_reminders_building_id_buildings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building_reminders')),
    sa.UniqueConstraint('building_id', 'threshold', 'verified_at', name=op.f('uq_building_reminders_building_id'))
    )
    with op.batch_alter_table('building_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_building_reminders_building_id'), ['building_id'], unique=False)

    op.create_table('building_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_email', sa.String(length=254), nullable=False),
    sa.Column('changes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_building_reviews_building_id_buildings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_building_reviews_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building_reviews'))
    )
    with op.batch_alter_table('building_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_building_reviews_building_id'), ['building_id'], unique=False)


def downgrade():
    with op.batch_alter_table('building_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_building_reviews_building_id'))
    op.drop_table('building_reviews')

    with op.batch_alter_table('building_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_building_reminders_building_id'))
    op.drop_table('building_reminders')
