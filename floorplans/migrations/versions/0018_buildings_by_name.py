"""Buildings indexed by name: search and the lists read a page in order instead of sorting

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:00:00

Hand-written (issue 19).  Search (services.buildings.search) and the building lists show
buildings ordered by name and id, a page at a time.  Without an index in that order a
broad search ("toronto": 5,300 of 20,000 buildings) joined and sorted every match for its
50 rows (9 ms on PostgreSQL); with it, the database walks the names in order and stops at
the 50th match (0.7 ms).  Rare words still go through building_words first: the planner
chooses.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_buildings_name_id', 'buildings', ['name', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_buildings_name_id', table_name='buildings')
