"""Review before publish: sheets a partner hides from officers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 20:00:00

Hand-written.  One new column with a server default, so existing rows read "not hidden"
on SQLite and PostgreSQL alike (batch mode rebuilds the table on SQLite).  A rendered
version is a draft until its partner publishes it; that needs no column of its own: a
version never published has no ``published_at``.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plan_pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('plan_pages', schema=None) as batch_op:
        batch_op.drop_column('hidden')
