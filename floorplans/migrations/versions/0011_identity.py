"""Agency sign-in, agencies and temporary passwords on users

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:00:00

Hand-written.  users gains identity_issuer and identity_subject (the OpenID Connect
provider's name for the person, unique together), agency (fire, EMS or another police
service, shown in a congregation's access log) and must_change_password (a temporary
password set by an administrator).  Columns are added in place, not by batch mode's copy
of the table (see 0010: the copy would cascade to login sessions and API tokens).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('identity_issuer', sa.String(length=300), nullable=True))
    op.add_column('users', sa.Column('identity_subject', sa.String(length=255), nullable=True))
    op.add_column('users', sa.Column('agency', sa.String(length=120), server_default='', nullable=False))
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                     nullable=False))
    # A unique index, not a table constraint: SQLite cannot add a constraint in place.
    op.create_index('uq_users_identity', 'users', ['identity_issuer', 'identity_subject'], unique=True)


def downgrade():
    op.drop_index('uq_users_identity', table_name='users')
    op.drop_column('users', 'must_change_password')
    op.drop_column('users', 'agency')
    op.drop_column('users', 'identity_subject')
    op.drop_column('users', 'identity_issuer')
