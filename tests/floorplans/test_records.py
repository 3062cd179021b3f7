"""Field cleaning, address normalisation and the gathering schedule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from floorplans.errors import InvalidInput
from floorplans.fields import Field
from floorplans.models import Gathering
from floorplans.search import normalise
from floorplans.services.buildings import BUILDING_FIELDS
from floorplans.services.gatherings import now_and_next, occurrences
from floorplans.templating import days_text, tel_uri

TZ = "America/Toronto"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123 Main St.", "123 main st"),
        ("123 MAIN STREET", "123 main st"),
        ("Église Saint-Rémi, 45 Boulevard René-Lévesque East", "eglise st remi 45 blvd rene levesque e"),
        ("  5  Elm   Avenue  ", "5 elm ave"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_clean_reports_every_problem_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        BUILDING_FIELDS.clean({"name": " ", "street": "x" * 201, "city": "T", "capacity": "-1", "latitude": "nan"})
    assert caught.value.fields == {
        "name": "is required.",
        "street": "is too long (201 characters, at most 200).",
        "capacity": "must be at least 0.",
        "latitude": "must be a number.",
    }


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("time", "9:05", dt.time(9, 5)),
        ("time", "1330", dt.time(13, 30)),
        ("bool", "on", True),
        ("bool", False, False),
        ("weekday", "fri", 4),
        ("weekdays", ["6", "0", "0"], "06"),
        ("int", " 42 ", 42),
        ("phone", "+44 20 7946 0958", "+44 20 7946 0958"),
        ("date", "2026-12-24", dt.date(2026, 12, 24)),
    ],
)
def test_field_kinds(kind: str, raw: object, value: object) -> None:
    assert Field("x", "X", kind).clean(raw) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("time", "24:00"),
        ("bool", "maybe"),
        ("int", True),
        ("email", "a@b"),
        ("phone", "call me"),
        ("weekday", "someday"),
        ("float", "inf"),
    ],
)
def test_field_kinds_refuse(kind: str, raw: object) -> None:
    with pytest.raises(ValueError):
        Field("x", "X", kind).clean(raw)  # type: ignore[arg-type]


def test_tel_links_dial() -> None:
    assert tel_uri("(416) 555-0123") == "tel:4165550123"
    assert tel_uri("+1 416 555 0123 x 22") == "tel:+14165550123;ext=22"
    assert days_text("01234") == "Mon–Fri" and days_text("56") == "Sat, Sun" and days_text("0123456") == "every day"


def _gathering(**values: object) -> Gathering:
    return Gathering(id=values.pop("id", 1), label=values.pop("label", "Prayers"), **values)


def test_now_and_next_in_the_service_time_zone() -> None:
    friday = _gathering(weekday=4, start_time=dt.time(12, 30), end_time=dt.time(14, 0), expected_attendance=400)
    sunday = _gathering(id=2, label="Mass", weekday=6, start_time=dt.time(10), end_time=dt.time(11))
    # Friday 2026-11-20 13:00 in Toronto is 18:00 UTC.
    now = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
    happening, upcoming = now_and_next([friday, sunday], now=now, timezone=TZ)
    assert [o.gathering.label for o in happening] == ["Prayers"]
    assert happening[0].ends == dt.datetime(2026, 11, 20, 14, 0, tzinfo=ZoneInfo(TZ))
    assert upcoming is not None and upcoming.gathering.label == "Mass"
    assert upcoming.starts.date() == dt.date(2026, 11, 22)


def test_overnight_vigil_and_one_off_dates() -> None:
    vigil = _gathering(label="Vigil", weekday=5, start_time=dt.time(22), end_time=dt.time(2))
    eid = _gathering(id=3, label="Eid", on_date=dt.date(2026, 11, 23), start_time=dt.time(8), end_time=dt.time(10))
    sunday_1am = dt.datetime(2026, 11, 22, 1, 0, tzinfo=ZoneInfo(TZ))
    happening, upcoming = now_and_next([vigil, eid], now=sunday_1am, timezone=TZ)
    assert [o.gathering.label for o in happening] == ["Vigil"]
    assert upcoming is not None and upcoming.gathering.label == "Eid"
    week = occurrences([eid], start=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), days=7, timezone=TZ)
    assert week == []
