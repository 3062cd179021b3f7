"""Trust: the audit log (append-only, enforced by the database), login defence and TOTP columns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:00:00

Hand-written.  The audit table has no foreign keys on purpose (deleting an account or a
building must never rewrite an old event).  Triggers make it append-only for anything that
talks to the database, not only the app: UPDATE is always refused, DELETE of an event younger
than 30 days (models.audit.AUDIT_MIN_RETENTION_DAYS) is refused; the retention job deletes
older ones.  TRUNCATE (the PostgreSQL test fixtures) fires no row trigger.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

MIN_RETENTION_DAYS = 30  # keep in step with floorplans.models.audit.AUDIT_MIN_RETENTION_DAYS

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit_events is append-only: events are never changed';
    END IF;
    IF OLD.at > (now() AT TIME ZONE 'utc') - interval '{MIN_RETENTION_DAYS} days' THEN
        RAISE EXCEPTION 'audit events younger than {MIN_RETENTION_DAYS} days cannot be deleted';
    END IF;
    RETURN OLD;
END
$$
"""
POSTGRESQL_TRIGGER = """
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
"""
SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: events are never changed'); END
    """,
    f"""
    CREATE TRIGGER audit_events_no_early_delete BEFORE DELETE ON audit_events
    WHEN OLD.at > datetime('now', '-{MIN_RETENTION_DAYS} days')
    BEGIN SELECT RAISE(ABORT, 'audit events younger than {MIN_RETENTION_DAYS} days cannot be deleted'); END
    """,
)


def upgrade():
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.Column('address_key', sa.String(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_building_id'), ['building_id'], unique=False)
        batch_op.create_index('ix_audit_events_action_at', ['action', 'at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('login_failures_reset_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('login_failures_reset_at')

    # Dropping the table drops its triggers on both databases.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_action_at')
        batch_op.drop_index(batch_op.f('ix_audit_events_building_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))

    op.drop_table('audit_events')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS audit_events_append_only()')
