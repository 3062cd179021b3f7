"""Each congregation's name folded as the congregation choice searches it: matched in SQL

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 12:00:00

Hand-written (issue 19).  Four columns on organisations (models.accounts.Organisation), each
a form of the name worked out when it is written (floorplans.congregation_names.stored_forms):
name_words (" eglise saint st remi ": its words folded as typed and as the search spells
them, so a typed word's start is LIKE '% sain%'), same_name (what "the same name" means,
indexed: a typed name is one indexed equality), plain_name and folded_name (the order the
matches are offered in).  services.congregation_choice read every congregation's id and
name and folded them in Python at each keystroke: ~230 ms at a province's 20,000
congregations.  On PostgreSQL they are COLLATE "C", byte order, as Python orders the folded
names.  Filled from the names already stored, a thousand congregations at a time, with the
function that keeps them afterwards.

Columns are added and dropped in place (ALTER TABLE ... ADD/DROP COLUMN, SQLite 3.35 and
later), not by batch mode's copy of the table: with SQLite's foreign keys on, dropping the
old organisations table is refused while users and buildings refer to it (as 0010 says).
"""
from alembic import op
import sqlalchemy as sa

from floorplans.congregation_names import stored_forms


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

BATCH = 1000
# stored_forms's keys as of this revision.
STORED_COLUMNS = ('name_words', 'same_name', 'plain_name', 'folded_name')
FOLDED = sa.Text().with_variant(sa.Text(collation='C'), 'postgresql')


def upgrade():
    for column in STORED_COLUMNS:
        op.add_column('organisations', sa.Column(column, FOLDED, server_default='', nullable=False))
    op.create_index('ix_organisations_same_name', 'organisations', ['same_name'], unique=False)
    organisations = sa.table('organisations', sa.column('id', sa.Integer()), sa.column('name', sa.String()),
                             *(sa.column(column, sa.Text()) for column in STORED_COLUMNS))
    connection = op.get_bind()
    folded = (organisations.update().where(organisations.c.id == sa.bindparam('row_id'))
              .values({column: sa.bindparam(f'new_{column}') for column in STORED_COLUMNS}))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(organisations.c.id, organisations.c.name).where(organisations.c.id > last)
            .order_by(organisations.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(folded, [{'row_id': row.id} | {f'new_{column}': value for column, value
                                                          in stored_forms(row.name or '').items()}
                                    for row in rows])
        last = rows[-1].id


def downgrade():
    op.drop_index('ix_organisations_same_name', table_name='organisations')
    for column in reversed(STORED_COLUMNS):
        op.drop_column('organisations', column)
