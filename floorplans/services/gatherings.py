"""The worship schedule: when people gather in a building, and how many.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.fields import Field, RecordFields
from floorplans.models import Building, Gathering
from floorplans.services import building_items

GATHERING_FIELDS = RecordFields((
    Field("label", "What", required=True, help='e.g. "Friday prayers", "Sunday service"'),
    Field("weekday", "Every", "weekday", help="For a weekly gathering."),
    Field("on_date", "Or once, on", "date", help="For a one-off event."),
    Field("start_time", "Starts", "time", required=True),
    Field("end_time", "Ends", "time", required=True),
    Field("expected_attendance", "Expected attendance", "int", minimum=0, maximum=1_000_000),
    Field("children_areas_in_use", "Children's areas in use", "bool"),
    Field("notes", "Notes", "textarea", max_length=2000),
))


def _check(current: Callable[[str], Any]) -> None:
    weekday, on_date = current("weekday"), current("on_date")
    if weekday is None and on_date is None:
        raise InvalidInput({"weekday": "choose a day of the week, or a date for a one-off event."})
    if weekday is not None and on_date is not None:
        raise InvalidInput({"on_date": "give a weekday or a date, not both."})
    if current("start_time") == current("end_time"):
        raise InvalidInput({"end_time": "must differ from the start time."})


RULES = building_items.ItemRules(Gathering, "gathering", GATHERING_FIELDS, _check,
                                 "This building has no such gathering.")


def add_gathering(building: Building, raw: Mapping[str, Any]) -> Gathering:
    return building_items.add(RULES, building, raw)


def update_gathering(gathering: Gathering, raw: Mapping[str, Any], *, partial: bool = False) -> Gathering:
    return building_items.update(RULES, gathering, raw, partial=partial, label=gathering.label)


def delete_gathering(gathering: Gathering) -> None:
    building_items.record_removal(RULES, gathering)
    gathering.building.gatherings.remove(gathering)
    db.session.flush()


def gathering_of(building: Building, gathering_id: int) -> Gathering:
    return building_items.item_of(RULES, building.gatherings, gathering_id)


@dataclass(frozen=True)
class Occurrence:
    gathering: Gathering
    starts: dt.datetime  # aware, in the service's time zone
    ends: dt.datetime

    def is_on(self, now: dt.datetime) -> bool:
        return self.starts <= now < self.ends


def occurrences(
    gatherings: Sequence[Gathering], *, start: dt.datetime, days: int, timezone: str
) -> list[Occurrence]:
    """Every occurrence overlapping [start, start + days), in order.  A gathering whose end is
    before its start runs past midnight (an overnight vigil)."""
    zone = ZoneInfo(timezone)
    local_start = start.astimezone(zone)
    found: list[Occurrence] = []
    for offset in range(-1, days + 1):
        day = local_start.date() + dt.timedelta(days=offset)
        for gathering in gatherings:
            if gathering.on_date is not None and gathering.on_date != day:
                continue
            if gathering.on_date is None and gathering.weekday != day.weekday():
                continue
            starts = dt.datetime.combine(day, gathering.start_time, zone)
            end_day = day + dt.timedelta(days=1) if gathering.end_time < gathering.start_time else day
            ends = dt.datetime.combine(end_day, gathering.end_time, zone)
            if ends > local_start and starts < local_start + dt.timedelta(days=days):
                found.append(Occurrence(gathering, starts, ends))
    return sorted(found, key=lambda o: (o.starts, o.gathering.id))


def now_and_next(
    gatherings: Sequence[Gathering], *, now: dt.datetime, timezone: str
) -> tuple[list[Occurrence], Occurrence | None]:
    """What is happening at ``now`` and the next gathering after it (within a week)."""
    upcoming = occurrences(gatherings, start=now, days=8, timezone=timezone)
    current = [o for o in upcoming if o.is_on(now)]
    following = next((o for o in upcoming if o.starts > now), None)
    return current, following
