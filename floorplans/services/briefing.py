"""The 30-second brief of a building for an officer on the way: what is happening there now
(or next), who can be called right now, and whether the record may be out of date.

Pure functions of a building and a moment: no database writes, no request state, so the
in-car card, an API client or a printed packet get the same answer for the same instant.
Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from floorplans.models import Building, Contact
from floorplans.services.buildings import is_stale
from floorplans.services.gatherings import Occurrence, now_and_next


class Reachable(enum.IntEnum):
    """Calling order between groups; within a group the partner's own order stands."""

    NOW = 0  # 24/7, or within the hours the partner gave
    UNKNOWN = 1  # no hours given: worth a try, after those we know are reachable
    LATER = 2  # outside their hours: last resort


@dataclass(frozen=True)
class ContactNow:
    contact: Contact
    reachable: Reachable
    hours: str  # "24/7", "until 18:00", "Mon–Fri 08:00–18:00", "" when none were given


@dataclass(frozen=True)
class Brief:
    happening: list[Occurrence]
    upcoming: Occurrence | None
    contacts: list[ContactNow]
    stale: bool
    verified_days_ago: int | None

    @property
    def happening_text(self) -> list[str]:
        return [describe_occurrence(o, now=True) for o in self.happening]

    @property
    def upcoming_text(self) -> str:
        return describe_occurrence(self.upcoming, now=False) if self.upcoming else ""


def brief(building: Building, *, now: dt.datetime, timezone: str, stale_after_days: int) -> Brief:
    """Everything the card says about ``now`` (an aware datetime)."""
    happening, upcoming = now_and_next(building.gatherings, now=now, timezone=timezone)
    verified = building.last_verified_at
    naive_utc = now.astimezone(dt.UTC).replace(tzinfo=None)
    return Brief(
        happening=happening,
        upcoming=upcoming,
        contacts=contacts_to_call(building.contacts, now=now, timezone=timezone),
        stale=is_stale(building, stale_after_days=stale_after_days, now=naive_utc),
        verified_days_ago=(naive_utc - verified).days if verified else None,
    )


def describe_occurrence(occurrence: Occurrence, *, now: bool) -> str:
    """"Friday prayers until 14:00, ~400 expected, children's area in use" (now) or
    "Friday prayers Fri 13:00–14:00, ~400 expected" (next)."""
    gathering = occurrence.gathering
    if now:
        parts = [f"{gathering.label} until {occurrence.ends:%H:%M}"]
    else:
        parts = [f"{gathering.label} {occurrence.starts:%a %H:%M}–{occurrence.ends:%H:%M}"]
    if gathering.expected_attendance:
        parts.append(f"~{gathering.expected_attendance} expected")
    if gathering.children_areas_in_use:
        parts.append("children's area in use")
    return ", ".join(parts)


def contacts_to_call(contacts: Sequence[Contact], *, now: dt.datetime, timezone: str) -> list[ContactNow]:
    """Contacts in the order to try them at ``now``: those reachable now (24/7 or within
    their hours) first, then those who gave no hours, then those outside their hours.
    The sort is stable, so the partner's calling order holds within each group."""
    local = now.astimezone(ZoneInfo(timezone))
    rows = [ContactNow(c, reachable_at(c, local), hours_text(c)) for c in contacts]
    return sorted(rows, key=lambda row: row.reachable)


def reachable_at(contact: Contact, local: dt.datetime) -> Reachable:
    """Whether ``contact`` can be called at ``local`` (in the service's time zone).  Hours
    that end before they start run past midnight and belong to the day they started."""
    if contact.available_24_7:
        return Reachable.NOW
    start, end, days = contact.available_from, contact.available_until, contact.available_days or ""
    if start is None or end is None:
        if not days:
            return Reachable.UNKNOWN
        return Reachable.NOW if str(local.weekday()) in days else Reachable.LATER
    clock = local.time().replace(tzinfo=None)

    def on(day: dt.date) -> bool:
        return not days or str(day.weekday()) in days

    if start < end:
        inside = start <= clock < end and on(local.date())
    else:  # overnight: 22:00–06:00
        inside = (clock >= start and on(local.date())) or (
            clock < end and on(local.date() - dt.timedelta(days=1))
        )
    return Reachable.NOW if inside else Reachable.LATER


def hours_text(contact: Contact) -> str:
    if contact.available_24_7:
        return "24/7"
    start, end, days = contact.available_from, contact.available_until, contact.available_days or ""
    when = f"{start:%H:%M}–{end:%H:%M}" if start is not None and end is not None else ""
    return " ".join(part for part in (_days_text(days), when) if part)


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _days_text(digits: str) -> str:
    days = sorted({int(d) for d in digits if d.isdigit() and int(d) < 7})
    if not days or len(days) == 7:
        return ""
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{_DAY_NAMES[days[0]]}–{_DAY_NAMES[days[-1]]}"
    return ", ".join(_DAY_NAMES[d] for d in days)
