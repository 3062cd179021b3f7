"""Indexes for a province: nearest buildings, paginated lists and filtered logs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:00:00

Hand-written.  Indexes only, no data changes (issue 19):
- buildings (latitude, longitude): the box around the car that services.finding.nearest
  asks for before computing any distance.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_buildings_latitude_longitude', 'buildings', ['latitude', 'longitude'], unique=False)


def downgrade():
    op.drop_index('ix_buildings_latitude_longitude', table_name='buildings')
