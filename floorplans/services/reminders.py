"""Reminding partners before a building's record goes stale.

A record not confirmed for ``STALE_AFTER_DAYS`` is shown to officers as possibly out of
date.  ``REMIND_BEFORE_DAYS`` earlier it is "due": its partners see it in a banner on
their portal pages, and (when SMTP is configured) every active partner of the
congregation gets one e-mail per threshold crossing: once when it becomes due, once when
it becomes stale.  Confirming the record starts a new cycle.  A rendered plan left as a
draft (not reviewed and published) for ``DRAFT_REMIND_AFTER_DAYS`` is reminded the same way,
once per draft: officers keep seeing the old plan until someone looks at the new one.

Sending is claim-then-send: a ``BuildingReminder`` row is inserted and committed first (its
unique constraint lets only one of several concurrent runs claim a crossing), then the mail
goes out; when the SMTP server refuses, the claim is deleted so the next run retries.
Each claim is its own short transaction, so a long run never holds SQLite's write lock.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from floorplans import mail
from floorplans.config import get_settings
from floorplans.db import db, utcnow
from floorplans.local_times import local_time
from floorplans.models import Building, BuildingReminder, PlanVersion, Role, User
from floorplans.models.keeping_current import NEVER_VERIFIED

log = logging.getLogger(__name__)

DUE, STALE, DRAFT = "due", "stale", "draft"


@dataclass(frozen=True)
class DueBuilding:
    building: Building
    threshold: str  # DUE, STALE or DRAFT
    stale_on: dt.datetime | None  # naive UTC when it goes (or went) stale; None if never confirmed
    draft: PlanVersion | None = None  # DRAFT: the version waiting to be reviewed and published

    @property
    def is_stale(self) -> bool:
        return self.threshold == STALE

    @property
    def is_draft(self) -> bool:
        return self.threshold == DRAFT

    @property
    def cycle(self) -> dt.datetime:
        """What makes a reminder a new one: the record's confirmation, or the draft's rendering."""
        if self.draft is not None:
            return self.draft.finished_at or NEVER_VERIFIED
        return self.building.last_verified_at or NEVER_VERIFIED


@dataclass
class ReminderRun:
    mail_configured: bool
    sent: list[tuple[int, str, int]] = field(default_factory=list)  # building id, threshold, recipients
    already_sent: int = 0
    no_recipients: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _windows() -> tuple[dt.timedelta, dt.timedelta]:
    settings = get_settings()
    stale_after = dt.timedelta(days=settings.stale_after_days)
    remind_before = dt.timedelta(days=settings.remind_before_days)
    return stale_after, remind_before


def due_buildings(*, organisation_id: int | None = None, now: dt.datetime | None = None) -> list[DueBuilding]:
    """Buildings (of one congregation, or all) that are due for confirmation or stale,
    the most urgent first."""
    now = now or utcnow()
    stale_after, remind_before = _windows()
    due_from = now - stale_after + remind_before
    query = (
        select(Building)
        .where(or_(Building.last_verified_at.is_(None), Building.last_verified_at <= due_from))
        .order_by(Building.last_verified_at.is_not(None), Building.last_verified_at, Building.id)
    )
    if organisation_id is not None:
        query = query.where(Building.organisation_id == organisation_id)
    found = []
    for building in db.session.scalars(query):
        stale_on = building.last_verified_at + stale_after if building.last_verified_at else None
        threshold = STALE if stale_on is None or now > stale_on else DUE
        found.append(DueBuilding(building, threshold, stale_on))
    return found


def waiting_drafts(*, organisation_id: int | None = None, now: dt.datetime | None = None) -> list[DueBuilding]:
    """Drafts (rendered, never published) older than DRAFT_REMIND_AFTER_DAYS, oldest first,
    one per building (its newest draft)."""
    now = now or utcnow()
    older_than = now - dt.timedelta(days=get_settings().draft_remind_after_days)
    query = (
        select(PlanVersion).join(Building, Building.id == PlanVersion.building_id)
        .where(PlanVersion.has_tiles, PlanVersion.published_at.is_(None), PlanVersion.finished_at <= older_than)
        .order_by(PlanVersion.building_id, PlanVersion.number.desc())
    )
    if organisation_id is not None:
        query = query.where(Building.organisation_id == organisation_id)
    newest: dict[int, PlanVersion] = {}
    for version in db.session.scalars(query):
        newest.setdefault(version.building_id, version)
    drafts = sorted(newest.values(), key=lambda v: (v.finished_at or now, v.id))
    return [DueBuilding(version.building, DRAFT, None, version) for version in drafts]


def due_for_user(user: User) -> list[DueBuilding]:
    """What the portal banner lists: a partner's own congregation's due buildings and the
    drafts waiting too long for review."""
    if Role(user.role) is not Role.PARTNER or user.organisation_id is None:
        return []
    return due_buildings(organisation_id=user.organisation_id) + waiting_drafts(organisation_id=user.organisation_id)


def send_reminders(commit: Callable[[], None], *, now: dt.datetime | None = None) -> ReminderRun:
    """E-mail the partners of every due or stale building not yet reminded of this crossing.
    ``commit`` is called after each claim (the CLI and the job pass ``db.session.commit``)."""
    settings = get_settings()
    run = ReminderRun(mail_configured=mail.is_configured(settings))
    if not run.mail_configured:
        return run
    due = due_buildings(now=now) + waiting_drafts(now=now)
    if not due:
        return run
    with mail.connection(settings) as smtp:
        for item in due:
            building = item.building
            verified_at = item.cycle
            if _already_sent(building.id, item.threshold, verified_at):
                run.already_sent += 1
                continue
            recipients = _partners(building.organisation_id)
            if not recipients:
                # Not claimed: a partner account added tomorrow still gets this reminder.
                run.no_recipients.append(building.id)
                continue
            claim = BuildingReminder(building_id=building.id, threshold=item.threshold, verified_at=verified_at,
                                     sent_at=utcnow(), recipients=len(recipients))
            db.session.add(claim)
            try:
                db.session.flush()
                commit()  # claimed before the mail goes: a second run at once does not send it again
            except IntegrityError:  # another run claimed it first
                db.session.rollback()  # only this claim: every earlier one is committed
                run.already_sent += 1
                continue
            claim_id = claim.id
            try:
                for user in recipients:
                    smtp.send_message(_reminder_mail(item, user))
            except (smtplib.SMTPException, OSError) as error:
                log.warning("Reminder for building %s not sent: %s", building.id, type(error).__name__)
                db.session.execute(delete(BuildingReminder).where(BuildingReminder.id == claim_id))
                commit()  # unclaimed at once: the next run tries again
                run.failed.append(building.id)
                continue
            run.sent.append((building.id, item.threshold, len(recipients)))
    return run


def _already_sent(building_id: int, threshold: str, verified_at: dt.datetime) -> bool:
    return db.session.scalar(
        select(BuildingReminder.id).where(
            BuildingReminder.building_id == building_id,
            BuildingReminder.threshold == threshold,
            BuildingReminder.verified_at == verified_at,
        )
    ) is not None


def _partners(organisation_id: int) -> Sequence[User]:
    return db.session.scalars(
        select(User)
        .where(User.organisation_id == organisation_id, User.role == Role.PARTNER.value, User.active.is_(True))
        .options(selectinload(User.organisation))
        .order_by(User.email)
    ).all()


def building_link(building_id: int) -> str | None:
    """The building's portal page at ``BASE_URL`` (mails are built outside any request)."""
    base = get_settings().base_url
    if not base:
        return None
    parts = urlsplit(base)
    urls = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https")
    return urls.build("partners.building", {"building_id": building_id}, force_external=True)


def _date(value: dt.datetime) -> str:
    return local_time(value, "%Y-%m-%d")  # as the portal shows it


def _reminder_mail(item: DueBuilding, user: User) -> EmailMessage:
    settings = get_settings()
    building = item.building
    service = settings.service_name
    if item.draft is not None:
        return _draft_mail(item.draft, user)
    days = settings.stale_after_days
    if building.last_verified_at is None:
        confirmed = "has never been confirmed as current"
    else:
        confirmed = f"was last confirmed as current on {_date(building.last_verified_at)}"
    if item.stale_on is None or item.is_stale:
        subject = f"The record of {building.name} is out of date: please confirm it"
        when = (f"Officers now see a warning that it may be out of date (records are confirmed at least "
                f"every {days} days).")
    else:
        subject = f"Please confirm the record of {building.name} before {_date(item.stale_on)}"
        when = (f"Records not confirmed for {days} days are shown to officers as possibly out of date; "
                f"this one will be from {_date(item.stale_on)}.")
    link = building_link(building.id)
    where = link if link else f"sign in to {service} and open {building.name} under Buildings"
    body = (
        f"Hello{' ' + user.name if user.name else ''},\n\n"
        f"The building record of {building.name} ({building.address}) {confirmed}.\n"
        f"{when}\n\n"
        "Please check its entrances, emergency contacts, gatherings and floor plans, correct what has "
        "changed, and press \"I confirm this is current\":\n\n"
        f"    {where}\n\n"
        f"You receive this because you keep this building's record for "
        f"{user.organisation.name if user.organisation else 'your congregation'}.\n\n"
        f"-- {service}\n"
    )
    return mail.message(settings, to=user.email, subject=subject, body=body)


def _draft_mail(version: PlanVersion, user: User) -> EmailMessage:
    settings = get_settings()
    building = version.building
    service = settings.service_name
    current = building.published_version
    link = building_link(building.id)
    where = link if link else f"sign in to {service} and open {building.name}, then Plans"
    body = (
        f"Hello{' ' + user.name if user.name else ''},\n\n"
        f"The plans uploaded for {building.name} on {_date(version.created_at)} "
        f"({version.original_filename}) are prepared and wait for your review since "
        f"{_date(version.finished_at or version.created_at)}.\n"
        f"Officers still see {f'version {current.number} of the plans' if current else 'no floor plan'} "
        "until someone checks the new sheets and publishes them.\n\n"
        "Please open the plans, check each sheet's name, hide the sheets officers do not need, check the "
        "markers carried over from the current plan, and press \"Publish\" (or delete the draft if it was a "
        "mistake):\n\n"
        f"    {where}\n\n"
        f"-- {service}\n"
    )
    subject = f"New plans of {building.name} wait for your review"
    return mail.message(settings, to=user.email, subject=subject, body=body)
