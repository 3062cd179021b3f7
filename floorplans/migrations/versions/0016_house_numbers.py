"""Each building's house number as a number: the CAD lookup's near matches ordered in SQL

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 09:00:00

Hand-written (issue 19).  buildings.house_number (models.buildings.Building.house_number):
the street's house number as an integer ("4-123 Main St": 123), or NULL.  On a province's
crowded streets (a thousand buildings with "main" in their address) the CAD lookup judged
the first 500 by id when an address matched none exactly; with the number it takes those
whose numbers are nearest the address's (services.finding).  Filled from the streets
already stored, a thousand buildings at a time, with the function that keeps it afterwards
(floorplans.addresses.house_number).
"""
from alembic import op
import sqlalchemy as sa

from floorplans.addresses import house_number


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    # In place, never by copying the table: on SQLite a copy dropped with foreign keys on
    # would take the contacts, gatherings and plans that point at the buildings with it.
    op.add_column('buildings', sa.Column('house_number', sa.Integer(), nullable=True))
    buildings = sa.table('buildings', sa.column('id', sa.Integer()), sa.column('street', sa.String()),
                         sa.column('house_number', sa.Integer()))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(buildings.c.id, buildings.c.street).where(buildings.c.id > last)
            .order_by(buildings.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        numbered = [{'row_id': row.id, 'number': house_number(row.street or '')} for row in rows]
        numbered = [row for row in numbered if row['number'] is not None]
        if numbered:
            connection.execute(
                buildings.update().where(buildings.c.id == sa.bindparam('row_id'))
                .values(house_number=sa.bindparam('number')), numbered)
        last = rows[-1].id


def downgrade():
    op.drop_column('buildings', 'house_number')
