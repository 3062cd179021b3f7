"""API tokens: expiry, a read-only scope, and why a token was revoked

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 10:00:00

Hand-written.  Three columns on api_tokens, added alike on SQLite (batch mode) and
PostgreSQL.  Existing tokens keep working as before: no expiry, read and write.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('read_only', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('read_only')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('revoked_reason')
