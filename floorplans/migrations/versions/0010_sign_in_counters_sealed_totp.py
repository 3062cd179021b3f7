"""Sign-in counters that cannot be raced, and TOTP keys sealed with a key outside the database

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 12:00:00

Hand-written.  A new table, attempt_counters (services.attempts), replaces counting failed
sign-ins from the audit log, and with it the two lock columns of users.  Each enrolled TOTP
key is sealed (floorplans.secrets_at_rest, with the running app's SECRET_KEY) into
users.totp_secret_sealed and the clear column is dropped; downgrading opens them again.

Columns are added and dropped in place (ALTER TABLE ... ADD/DROP COLUMN, SQLite 3.35 and
later), not by batch mode's copy of the table: with SQLite's foreign keys on, dropping the
old users table would cascade to its login sessions and API tokens.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.sql import column, table


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_users = table('users', column('id', sa.Integer), column('totp_secret', sa.String),
               column('totp_secret_sealed', sa.String))


def _config():
    """The running app's settings: the key that seals is derived from its SECRET_KEY."""
    from flask import current_app

    return current_app.config


def upgrade():
    op.create_table(
        'attempt_counters',
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_attempt_counters')),
    )
    op.create_index(op.f('ix_attempt_counters_user_id'), 'attempt_counters', ['user_id'], unique=False)

    op.add_column('users', sa.Column('totp_secret_sealed', sa.String(length=200), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_users.c.id, _users.c.totp_secret)
                              .where(_users.c.totp_secret.is_not(None))).all()
    if rows:
        from floorplans import secrets_at_rest

        config = _config()
        for user_id, secret in rows:
            connection.execute(_users.update().where(_users.c.id == user_id)
                               .values(totp_secret_sealed=secrets_at_rest.seal(config, secret)))
    op.drop_column('users', 'totp_secret')
    op.drop_column('users', 'locked_until')
    op.drop_column('users', 'login_failures_reset_at')


def downgrade():
    op.add_column('users', sa.Column('login_failures_reset_at', sa.DateTime(), nullable=True))
    op.add_column('users', sa.Column('locked_until', sa.DateTime(), nullable=True))
    op.add_column('users', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_users.c.id, _users.c.totp_secret_sealed)
                              .where(_users.c.totp_secret_sealed.is_not(None))).all()
    if rows:
        from floorplans import secrets_at_rest

        config = _config()
        for user_id, sealed in rows:
            connection.execute(_users.update().where(_users.c.id == user_id)
                               .values(totp_secret=secrets_at_rest.unseal(config, sealed)))
    op.drop_column('users', 'totp_secret_sealed')
    op.drop_index(op.f('ix_attempt_counters_user_id'), table_name='attempt_counters')
    op.drop_table('attempt_counters')
