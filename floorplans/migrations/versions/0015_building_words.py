"""The words of each building's search text, indexed: search and CAD lookup at province size

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 06:00:00

Hand-written (issue 19).  One new table, building_words (models.buildings.BuildingWord): a
row per distinct word of a building's stored search text, keyed (building_id, word), with
an index on (word, building_id) so services.buildings.search and services.finding find the
buildings having a word, or a word starting with some letters, by an index range on SQLite
and PostgreSQL alike (the LIKE '% word%' they used reads every building).  On PostgreSQL
the word is COLLATE "C": byte order, so "gra" <= word < "grb" is exactly "starts with gra"
whatever the database's collation.  The rows are filled from the search texts already
stored, a thousand buildings at a time, with the function that keeps them afterwards
(floorplans.search.indexed_words).
"""
from alembic import op
import sqlalchemy as sa

from floorplans.search import indexed_words


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    op.create_table(
        'building_words',
        sa.Column('building_id', sa.Integer(), nullable=False),
        sa.Column('word', sa.Text().with_variant(sa.Text(collation='C'), 'postgresql'), nullable=False),
        sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_building_words_building_id_buildings'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('building_id', 'word', name=op.f('pk_building_words')),
    )
    op.create_index('ix_building_words_word_building_id', 'building_words', ['word', 'building_id'], unique=False)
    buildings = sa.table('buildings', sa.column('id', sa.Integer()), sa.column('search_text', sa.Text()))
    words = sa.table('building_words', sa.column('building_id', sa.Integer()), sa.column('word', sa.Text()))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(buildings.c.id, buildings.c.search_text).where(buildings.c.id > last)
            .order_by(buildings.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        values = [{'building_id': row.id, 'word': word} for row in rows for word in indexed_words(row.search_text or '')]
        if values:
            connection.execute(words.insert(), values)
        last = rows[-1].id


def downgrade():
    op.drop_index('ix_building_words_word_building_id', table_name='building_words')
    op.drop_table('building_words')
