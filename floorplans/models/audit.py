"""The audit log: an append-only record of who did what, when and from where.

Logins (success, failure, lock), reads of building records and plans by anyone outside the
building's congregation, every change (with before and after), uploads, publishes,
exports, account and permission changes, and reads of the audit log itself.

Append-only is enforced three times: the ORM refuses to update or delete an ``AuditEvent``
(``_refuse_changes`` below), the database refuses UPDATE always and DELETE of any row
younger than ``AUDIT_MIN_RETENTION_DAYS`` (triggers in migration 0003), and no foreign key
points out of the table, so deleting a user or a building never rewrites an old event.
Only the retention job (``services.audit.prune``) deletes, with one bulk statement.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from floorplans.db import Model, utcnow

if TYPE_CHECKING:
    from floorplans.models.accounts import User

#: The database's own floor under the retention setting: its triggers refuse to delete an
#: event younger than this, whatever the application asks.
AUDIT_MIN_RETENTION_DAYS = 30


class AuditEvent(Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)  # naive UTC
    # e.g. login.success, login.failure, building.update, plan.publish (services.audit.ACTIONS)
    action: Mapped[str] = mapped_column(String(40))
    # Who: copied, not linked, so the event reads the same after the account changes.
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    channel: Mapped[str] = mapped_column(String(10), default="")  # web, api, cli, job
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    # The login rate limit's unit: an IPv4 address, or the /64 network of an IPv6 one.
    address_key: Mapped[str] = mapped_column(String(64), default="")
    # What: the building concerned (and its congregation), and the object within it.
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    building_id: Mapped[int | None] = mapped_column(Integer)
    target_type: Mapped[str] = mapped_column(String(20), default="")  # user, contact, plan_version...
    target_id: Mapped[int | None] = mapped_column(Integer)
    # Before/after of changed fields ({"changes": {"name": [old, new]}}) and other facts;
    # never a password, a token, or a contact's phone number or e-mail in clear.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # The login checks count recent failures: by action within a time window.
        Index("ix_audit_events_action_at", "action", "at"),
        # The audit page, newest first a page at a time, by building or by action (0014).
        Index("ix_audit_events_building_id_id", "building_id", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
    )


def _refuse_changes(mapper: Mapper[Any], connection: Connection, target: AuditEvent) -> None:
    raise RuntimeError("Audit events are append-only: they are never changed or deleted one by one.")


event.listen(AuditEvent, "before_update", _refuse_changes)
event.listen(AuditEvent, "before_delete", _refuse_changes)


class AccessEvent(Model):
    """Beside the audit log, its read side.  Append-only: who read which building's record or plan, when and from where.

    The building's own partners can read the events of their buildings."""

    __tablename__ = "access_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))  # view_record, view_plan, export...
    channel: Mapped[str] = mapped_column(String(10))  # web or api
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User | None] = relationship()

    __table_args__ = (
        # "Who looked" and the access log, newest first a page at a time, by building, by
        # reader or by what was done (migration 0014; the date filter has ix_access_events_at).
        Index("ix_access_events_building_id_id", "building_id", "id"),
        Index("ix_access_events_user_id_id", "user_id", "id"),
        Index("ix_access_events_action_id", "action", "id"),
    )
