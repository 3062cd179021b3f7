"""Rate limits: one row per limited thing (a congregation's uploads, an account's packets)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 09:00:00

Hand-written.  The instant each budget is whole again, in integer milliseconds
(floorplans/models/limits.py), the same on SQLite and PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rate_limits',
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('refilled_at_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limits')),
    )


def downgrade():
    op.drop_table('rate_limits')
