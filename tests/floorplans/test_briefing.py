"""The card's brief: who to call now, what is happening now or next, stale records."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from floorplans.models import Building, Contact, Gathering
from floorplans.services.briefing import Reachable, brief, contacts_to_call, describe_occurrence, reachable_at
from floorplans.services.gatherings import now_and_next

ZONE = "America/Toronto"
TORONTO = ZoneInfo(ZONE)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local time in November 2026: day 20 is a Friday."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TORONTO)


def contact(name: str, position: int, **values) -> Contact:
    return Contact(name=name, phone="416-555-0100", position=position, **values)


def test_reachable_now_first_then_unknown_then_later_keeping_the_partners_order() -> None:
    office = contact("Office", 1, available_days="01234", available_from=dt.time(9), available_until=dt.time(17))
    imam = contact("Imam", 2)  # no hours given
    caretaker = contact("Caretaker", 3, available_24_7=True, key_holder=True)
    night = contact("Night watch", 4, available_from=dt.time(22), available_until=dt.time(6))
    weekend = contact("Weekend", 5, available_days="56")
    friday_noon = at(20, 12)
    order = [(row.contact.name, row.reachable) for row in contacts_to_call(
        [office, imam, caretaker, night, weekend], now=friday_noon, timezone=ZONE)]
    assert order == [
        ("Office", Reachable.NOW), ("Caretaker", Reachable.NOW), ("Imam", Reachable.UNKNOWN),
        ("Night watch", Reachable.LATER), ("Weekend", Reachable.LATER),
    ]
    friday_night = at(20, 23, 30)
    order = [row.contact.name for row in contacts_to_call(
        [office, imam, caretaker, night, weekend], now=friday_night, timezone=ZONE)]
    assert order == ["Caretaker", "Night watch", "Imam", "Office", "Weekend"]


def test_hours_are_read_in_the_service_time_zone_and_overnight_belongs_to_its_first_day() -> None:
    late = contact("Late", 1, available_days="4", available_from=dt.time(22), available_until=dt.time(2))
    assert reachable_at(late, at(20, 23)) is Reachable.NOW  # Friday 23:00
    assert reachable_at(late, at(21, 1)) is Reachable.NOW  # Saturday 01:00, Friday's shift
    assert reachable_at(late, at(22, 1)) is Reachable.LATER  # Sunday 01:00: Saturday has no shift
    office = contact("Office", 2, available_from=dt.time(9), available_until=dt.time(17))
    utc_noon_friday = dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)  # 12:00 in Toronto
    assert contacts_to_call([office], now=utc_noon_friday, timezone=ZONE)[0].reachable is Reachable.NOW
    assert contacts_to_call([office], now=utc_noon_friday, timezone="Asia/Tokyo")[0].reachable is Reachable.LATER


def test_hours_text() -> None:
    rows = contacts_to_call([
        contact("A", 1, available_24_7=True),
        contact("B", 2, available_days="01234", available_from=dt.time(8), available_until=dt.time(18)),
        contact("C", 3, available_days="45"),
        contact("D", 4),
    ], now=at(20, 12), timezone=ZONE)
    hours = {row.contact.name: row.hours for row in rows}
    assert hours == {"A": "24/7", "B": "Mon–Fri 08:00–18:00", "C": "Fri, Sat", "D": ""}


def test_what_is_happening_now_reads_like_the_radio() -> None:
    prayers = Gathering(label="Friday prayers", weekday=4, start_time=dt.time(13), end_time=dt.time(14),
                        expected_attendance=400, children_areas_in_use=True)
    happening, upcoming = now_and_next([prayers], now=at(20, 13, 20), timezone=ZONE)
    details = "~400 expected, children's area in use"
    assert describe_occurrence(happening[0], now=True) == f"Friday prayers until 14:00, {details}"
    assert describe_occurrence(upcoming, now=False) == f"Friday prayers Fri 13:00–14:00, {details}"
    assert upcoming.starts.date() == dt.date(2026, 11, 27)


def test_brief_of_a_building() -> None:
    building = Building(name="Masjid", last_verified_at=dt.datetime(2026, 4, 1, 12, 0))
    building.gatherings = [Gathering(label="Jummah", weekday=4, start_time=dt.time(13), end_time=dt.time(14))]
    building.contacts = [contact("Caretaker", 1, available_24_7=True)]
    summary = brief(building, now=at(20, 13, 30), timezone=ZONE, stale_after_days=180)
    assert summary.happening_text == ["Jummah until 14:00"]
    assert summary.stale and summary.verified_days_ago == 233
    assert [row.contact.name for row in summary.contacts] == ["Caretaker"]
    fresh = brief(building, now=at(20, 15), timezone=ZONE, stale_after_days=365)
    assert not fresh.stale and fresh.happening == [] and fresh.upcoming_text.startswith("Jummah Fri 13:00")
    building.last_verified_at = None
    assert brief(building, now=at(20, 15), timezone=ZONE, stale_after_days=180).stale
