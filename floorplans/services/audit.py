"""The audit log: write an event, describe a change, read and export the log, prune it.

Every service that changes something calls ``record`` next to the change, in the same
transaction, so a change and its audit event are committed (or rolled back) together.  Who
acted, the channel (web, api, cli, job) and the client address are an ``Origin``: passed to
``record``, or declared by the layer that received the action (``acting``; for a request,
floorplans.acting), never read here from the request.  Reads of building records and plans
by outsiders are written to the access log (``AccessEvent``, shown to the building's own
partners) by ``services.access``; each
such event is copied here as it is flushed (``_mirror_access_events``), so this table is
the one complete record and the access log stays the partners' view of it.

What never goes in: passwords, tokens, TOTP secrets or codes; a contact's phone numbers and
e-mail are kept masked (``PRIVATE_FIELDS``) so the log shows that and roughly how a number
changed without becoming a year-long copy of people's private numbers.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import Any

import click
from sqlalchemy import Select, delete, event, func, select
from sqlalchemy.orm import Session

from floorplans.db import db, rowcount, utcnow
from floorplans.models import AccessEvent, AuditEvent, Building, User
from floorplans.models.audit import AUDIT_MIN_RETENTION_DAYS
from floorplans.paging import PAGE_SIZE, Page, by_keyset, short_window

#: Every action, by group: the admin page filters by these.
ACTIONS: dict[str, tuple[str, ...]] = {
    "login": (
        "login.success", "login.failure", "login.lock", "login.refused", "logout",
        "password.change", "password.change_failed", "two_factor.enable", "two_factor.disable",
        "two_factor.disable_failed", "two_factor.reset",
    ),
    "access": (
        "access.view_record", "access.view_plan", "access.export",
        "access.export.packet", "access.export.geojson", "access.export.png",  # services.exports
    ),
    "record": (
        "building.create", "building.update", "building.verify", "building.review",
        "contact.create", "contact.update", "contact.delete", "contact.move",
        "gathering.create", "gathering.update", "gathering.delete",
        "buildings.import",  # services.imports: one per import, with its counts
    ),
    "plan": ("plan.upload", "plan.pages", "plan.publish", "plan.delete"),
    "marker": (
        "marker.place", "marker.move", "marker.update", "marker.delete", "marker.confirm", "marker.carry",
    ),
    "photo": ("photo.add", "photo.replace", "photo.caption", "photo.delete"),  # services.photos
    "account": (
        "account.create", "account.update", "account.password_reset", "account.unlock",
        "organisation.create", "organisation.update", "token.create", "token.revoke", "token.rejected",
        "invitation.send", "invitation.resend", "invitation.revoke", "invitation.accept",
        "password_reset.request", "password_reset.use",
    ),
    "audit": ("audit.read", "audit.export", "audit.prune"),
    "exercise": (
        "exercise.create", "exercise.update", "exercise.close", "exercise.reopen",
        "exercise.planner.add", "exercise.planner.remove", "exercise.building.add", "exercise.building.remove",
        "exercise.item.add", "exercise.item.move", "exercise.item.edit", "exercise.item.delete",
    ),
}  # fmt: skip

#: Contact fields whose values are people's private numbers and addresses: masked here.
PRIVATE_FIELDS = frozenset({"phone", "phone_alt", "email"})
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}$")


@dataclass(frozen=True)
class Filters:
    """What the admin page and the CSV export select."""

    start: dt.datetime | None = None  # naive UTC, inclusive
    end: dt.datetime | None = None  # naive UTC, exclusive
    group: str = ""  # a key of ACTIONS
    action: str = ""
    actor: str = ""  # e-mail (or part of it) of who did it
    building_id: int | None = None
    ip_address: str = ""

    def as_detail(self) -> dict[str, Any]:
        """The filters used, for the audit event that records this read."""
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in vars(self).items() if v}


# --- writing ---------------------------------------------------------------------------

def address_key(ip_address: str) -> str:
    """What the login rate limit counts by: the IPv4 address, or the IPv6 /64 (one host
    commonly holds a whole /64, so counting single IPv6 addresses would count nothing)."""
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return ip_address[:64]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address.ipv4_mapped or address) if isinstance(address, ipaddress.IPv6Address) else str(address)


@dataclass(frozen=True)
class Origin:
    """Where an action came from, as the audit log keeps it: the channel, the client's
    address (none outside a request) and who acted (none before signing in, in a job)."""

    channel: str  # one of CHANNELS
    address: str = ""
    actor: User | None = None

    def acted_by(self, actor: User | None) -> Origin:
        return replace(self, actor=actor)


CHANNELS = ("web", "api", "cli", "job")
_declared: ContextVar[Origin | None] = ContextVar("floorplans_origin", default=None)


def declare(origin: Origin | None) -> Token[Origin | None]:
    """Declare where the actions from here on come from (the request's start, a sign-in);
    ``Token`` undoes it (``undeclare``)."""
    if origin is not None and origin.channel not in CHANNELS:
        raise ValueError(f"an origin's channel is one of {', '.join(CHANNELS)}, not {origin.channel!r}")
    return _declared.set(origin)


def undeclare(token: Token[Origin | None]) -> None:
    _declared.reset(token)


@contextmanager
def acting(origin: Origin) -> Iterator[Origin]:
    """Run a block of actions from ``origin`` (a command, a job, a test)."""
    token = declare(origin)
    try:
        yield origin
    finally:
        undeclare(token)


def current_origin() -> Origin:
    """The origin declared by the layer that received the action; undeclared, the command
    line when a click command runs, else a job."""
    declared = _declared.get()
    if declared is not None:
        return declared
    return Origin("cli" if click.get_current_context(silent=True) is not None else "job")


def record(
    action: str,
    *,
    actor: User | None = None,
    building: Building | None = None,
    target: Any = None,
    detail: Mapping[str, Any] | None = None,
    ip_address: str | None = None,
    origin: Origin | None = None,
) -> AuditEvent:
    """Append one event.  ``origin`` (default: ``current_origin()``) says who acted and from
    where; ``actor`` and ``ip_address`` override its user and address.  ``target`` is the
    object acted on (its table name and id are kept)."""
    origin = origin if origin is not None else current_origin()
    who = actor if actor is not None else origin.actor
    ip = origin.address if ip_address is None else ip_address
    entry = AuditEvent(
        at=utcnow(),
        action=action,
        actor_id=who.id if who is not None else None,
        actor_email=who.email if who is not None else "",
        actor_role=str(who.role) if who is not None else "",
        channel=origin.channel,
        ip_address=ip[:64],
        address_key=address_key(ip) if ip else "",
        organisation_id=building.organisation_id if building is not None else None,
        building_id=building.id if building is not None else None,
        target_type=_target_type(target),
        target_id=getattr(target, "id", None),
        detail=_jsonable(dict(detail or {})),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _target_type(target: Any) -> str:
    if target is None:
        return ""
    table = getattr(target, "__tablename__", type(target).__name__.lower())
    return {"users": "user", "contacts": "contact", "gatherings": "gathering", "buildings": "building",
            "plan_versions": "plan_version", "organisations": "organisation", "api_tokens": "api_token",
            "markers": "marker"}.get(table, table)[:20]  # fmt: skip


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def mask(field: str, value: Any) -> Any:
    """A private contact value as the audit log keeps it: the last two digits of a phone
    number, the first letter and the domain of an e-mail address."""
    if field not in PRIVATE_FIELDS or not value:
        return value
    text = str(value)
    if "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}…@{domain}"
    digits = re.sub(r"\D", "", text)
    return f"…{digits[-2:]}" if len(digits) >= 6 else "…"


def safe_email(value: str) -> str:
    """A typed login name as the log keeps it: only when it looks like an e-mail address,
    because people sometimes type their password into the e-mail field."""
    value = value.strip().lower()
    return value if _EMAIL.match(value) else "(not an e-mail address)"


def snapshot(obj: Any, names: Iterable[Any]) -> dict[str, Any]:
    """The values of ``names`` (field names, or ``fields.Field`` declarations) on ``obj``."""
    keys = [getattr(name, "name", name) for name in names]
    return {key: _jsonable(getattr(obj, key, None)) for key in keys}


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every field that changed, private ones masked."""
    return {
        name: [mask(name, before.get(name)), mask(name, after.get(name))]
        for name in after
        if _jsonable(before.get(name)) != _jsonable(after.get(name))
    }


@contextmanager
def recording_changes(
    obj: Any, names: Iterable[Any], action: str, *, building: Building | None, **detail: Any
) -> Iterator[None]:
    """Log, as ``action``, the fields of ``obj`` that the block changed, with their values
    before and after (private ones masked); nothing when nothing changed."""
    keys = [getattr(name, "name", name) for name in names]
    before = snapshot(obj, keys)
    yield
    changed = changes(before, snapshot(obj, keys))
    if changed:
        record(action, building=building, target=obj, detail={**detail, "changes": changed})


def values(obj: Any, names: Iterable[Any]) -> dict[str, Any]:
    """A new or deleted object's fields as the log keeps them (private ones masked)."""
    return {name: mask(name, value) for name, value in snapshot(obj, names).items() if value not in ("", None)}


def _mirror_access_events(session: Session, flush_context: Any, instances: Any) -> None:
    """Copy each new access-log event into the audit log, in the same flush."""
    for obj in list(session.new):
        if not isinstance(obj, AccessEvent):
            continue
        building = session.get(Building, obj.building_id) if obj.building_id else None
        user = session.get(User, obj.user_id) if obj.user_id else None
        session.add(AuditEvent(
            at=obj.at or utcnow(),
            action=f"access.{obj.action}"[:40],
            actor_id=obj.user_id,
            actor_email=user.email if user else "",
            actor_role=str(user.role) if user else "",
            channel=obj.channel,
            ip_address=obj.ip_address or "",
            address_key=address_key(obj.ip_address) if obj.ip_address else "",
            organisation_id=building.organisation_id if building else None,
            building_id=obj.building_id,
            target_type="building" if obj.building_id else "",
            target_id=obj.building_id,
            detail={"detail": obj.detail} if obj.detail else {},
        ))


event.listen(Session, "before_flush", _mirror_access_events)


# --- reading ---------------------------------------------------------------------------

def _query(filters: Filters) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if filters.start is not None:
        query = query.where(AuditEvent.at >= filters.start)
    if filters.end is not None:
        query = query.where(AuditEvent.at < filters.end)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    elif filters.group in ACTIONS:
        query = query.where(AuditEvent.action.in_(ACTIONS[filters.group]))
    if filters.actor:
        query = query.where(func.lower(AuditEvent.actor_email).contains(filters.actor.strip().lower(), autoescape=True))
    if filters.building_id is not None:
        query = query.where(AuditEvent.building_id == filters.building_id)
    if filters.ip_address:
        query = query.where(AuditEvent.ip_address == filters.ip_address.strip())
    return query


def page(filters: Filters, *, before_id: int | None = None, after_id: int | None = None,
         limit: int = PAGE_SIZE) -> Page[AuditEvent]:
    """The newest ``limit`` events matching ``filters`` older than ``before_id``, or the
    ones just newer than ``after_id`` (``paging.by_keyset``).  The caller records the read
    (``record("audit.read", ...)``)."""
    return by_keyset(_query(filters), AuditEvent.id, before=before_id, after=after_id, size=limit,
                     narrow=short_window(filters.start, filters.end))


CSV_COLUMNS = ("id", "at_utc", "action", "actor_email", "actor_role", "actor_id", "channel", "ip_address",
               "organisation_id", "building_id", "target_type", "target_id", "detail")  # fmt: skip


def csv_lines(filters: Filters, *, limit: int) -> Iterator[str]:
    """The events as CSV text, newest first, in chunks (streamed to the browser)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    query = _query(filters).order_by(AuditEvent.id.desc()).limit(limit)
    for row in db.session.scalars(query.execution_options(yield_per=500)):
        writer.writerow([_cell(v) for v in (
            row.id, row.at.isoformat(timespec="seconds") + "Z", row.action, row.actor_email, row.actor_role,
            row.actor_id, row.channel, row.ip_address, row.organisation_id, row.building_id, row.target_type,
            row.target_id, json.dumps(row.detail, ensure_ascii=False, sort_keys=True) if row.detail else "",
        )])  # fmt: skip
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value: Any) -> Any:
    """Spreadsheets run cells that start with = + - @ as formulas: a name typed by an
    attacker must stay text when an administrator opens the export."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def describe(entry: AuditEvent) -> str:
    """One line for the admin page: what changed, or the facts kept."""
    detail = entry.detail or {}
    parts = []
    for name, (old, new) in (detail.get("changes") or {}).items():
        parts.append(f"{name}: {_short(old)} → {_short(new)}")
    for key, value in detail.items():
        if key != "changes":
            parts.append(f"{key}: {_short(value)}")
    return "; ".join(parts)


def _short(value: Any, limit: int = 80) -> str:
    if value in (None, ""):
        return "—"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- retention -------------------------------------------------------------------------

@dataclass(frozen=True)
class Pruned:
    audit_events: int
    access_events: int
    before: dt.datetime


def prune(retention_days: int, *, now: dt.datetime | None = None) -> Pruned:
    """Delete audit and access-log events older than ``retention_days`` (the one deletion
    this table allows), and record that it happened."""
    if retention_days < AUDIT_MIN_RETENTION_DAYS:
        raise ValueError(f"the audit log is kept at least {AUDIT_MIN_RETENTION_DAYS} days")
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    # Core statements: they bypass the ORM's append-only guard on purpose, and only here.
    audit_count = rowcount(db.session.execute(
        delete(AuditEvent).where(AuditEvent.at < cutoff).execution_options(synchronize_session=False)
    ))
    access_count = rowcount(db.session.execute(
        delete(AccessEvent).where(AccessEvent.at < cutoff).execution_options(synchronize_session=False)
    ))
    record("audit.prune", detail={
        "retention_days": retention_days, "before": cutoff, "audit_events": audit_count, "access_events": access_count,
    })  # fmt: skip
    return Pruned(audit_count, access_count, cutoff)
