"""Indexes for a province: nearest buildings, paginated lists and filtered logs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:00:00

Hand-written.  Indexes only, no data changes (issue 19):
- buildings (latitude, longitude): the box around the car that services.finding.nearest
  asks for before computing any distance.
- access_events and audit_events: the log pages read newest first (ORDER BY id DESC) a
  page at a time (floorplans.paging.by_keyset), filtered by building, by reader or by
  action.  An index ending in the id lets PostgreSQL walk the filter's rows newest first
  and stop after a page, instead of sorting every matching row of a 10-million-row log.
  (building_id, id) replaces the one-column building_id indexes of 0001 and 0003, which
  it serves as well (SQLite's indexes end in the row id anyway).  The date filters keep
  ix_*_at; audit_events keeps (action, at) for the sign-in checks.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_buildings_latitude_longitude', 'buildings', ['latitude', 'longitude'], unique=False)
    op.create_index('ix_access_events_building_id_id', 'access_events', ['building_id', 'id'], unique=False)
    op.create_index('ix_access_events_user_id_id', 'access_events', ['user_id', 'id'], unique=False)
    op.create_index('ix_access_events_action_id', 'access_events', ['action', 'id'], unique=False)
    op.drop_index('ix_access_events_building_id', table_name='access_events')
    op.create_index('ix_audit_events_building_id_id', 'audit_events', ['building_id', 'id'], unique=False)
    op.create_index('ix_audit_events_action_id', 'audit_events', ['action', 'id'], unique=False)
    op.drop_index('ix_audit_events_building_id', table_name='audit_events')


def downgrade():
    op.create_index('ix_audit_events_building_id', 'audit_events', ['building_id'], unique=False)
    op.drop_index('ix_audit_events_action_id', table_name='audit_events')
    op.drop_index('ix_audit_events_building_id_id', table_name='audit_events')
    op.create_index('ix_access_events_building_id', 'access_events', ['building_id'], unique=False)
    op.drop_index('ix_access_events_action_id', table_name='access_events')
    op.drop_index('ix_access_events_user_id_id', table_name='access_events')
    op.drop_index('ix_access_events_building_id_id', table_name='access_events')
    op.drop_index('ix_buildings_latitude_longitude', table_name='buildings')
