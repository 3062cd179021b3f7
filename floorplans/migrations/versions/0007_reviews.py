"""Reviews: one mark per reviewed partner change (who, when), beside the append-only log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 10:00:00

Hand-written.  One new table and one partial index on audit_events (the events of partners,
administrators and the command line: what the review queue reads among officers' many
reads), both of which SQLite and PostgreSQL create alike.  Earlier
reviews (``building_reviews``, a high-water mark per building) stay as they are: the queue
reads both, so nothing is migrated and nothing comes back into the queue.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# As floorplans.models.reviews.CHANGE_MAKERS was when this revision was written.
CHANGE_MAKERS = "actor_role IN ('partner', 'admin', '')"


def upgrade():
    op.create_table('reviewed_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audit_event_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_email', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['audit_event_id'], ['audit_events.id'], name=op.f('fk_reviewed_changes_audit_event_id_audit_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_reviewed_changes_building_id_buildings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_reviewed_changes_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviewed_changes')),
    sa.UniqueConstraint('audit_event_id', name=op.f('uq_reviewed_changes_audit_event_id'))
    )
    with op.batch_alter_table('reviewed_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviewed_changes_building_id'), ['building_id'], unique=False)
    # Not in batch mode: that would rebuild audit_events on SQLite, and its triggers with it.
    op.create_index('ix_audit_events_changes', 'audit_events', ['building_id', 'id', 'at', 'action', 'actor_role'],
                    unique=False, sqlite_where=sa.text(CHANGE_MAKERS), postgresql_where=sa.text(CHANGE_MAKERS))


def downgrade():
    op.drop_index('ix_audit_events_changes', table_name='audit_events')
    with op.batch_alter_table('reviewed_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviewed_changes_building_id'))
    op.drop_table('reviewed_changes')
