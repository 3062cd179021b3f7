"""Demo data for ``make run``: one congregation, one building with contacts and a
gathering schedule, and one account per role.  Passwords (and the administrator's
two-factor key) are generated per machine and kept in the instance folder (0600), so the
demo never ships known credentials.

Must not import blueprints.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path

import pyotp
from flask import current_app
from sqlalchemy import func, select

from floorplans.config import get_settings
from floorplans.db import db, utcnow
from floorplans.demo_plan import demo_plan_pdf
from floorplans.models import Organisation, PlanVersion, Role, User
from floorplans.services import accounts, buildings, contacts, gatherings, login, markers, plans

Login = tuple[str, str, str]


def _logins_file() -> Path:
    return Path(current_app.instance_path) / "demo-logins.json"


def _two_factor_file() -> Path:
    return Path(current_app.instance_path) / "demo-two-factor.json"


def _save_private(path: Path, value: object) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(value, handle)


def two_factor_lines() -> list[str]:
    """How to sign in as the demo administrator, who must use two-factor sign-in as every
    administrator must (TWO_FACTOR_REQUIRED_ROLES): its key, printed with the logins."""
    path = _two_factor_file()
    if not path.exists():
        return []
    saved = json.loads(path.read_text())
    return [
        f"The demo {saved['role']} signs in with a two-factor code. Add this key to an authenticator app",
        f"(type it, or open the otpauth:// address): {login.grouped(saved['key'])}",
        f"  {saved['uri']}",
        "or print the current code with:",
        f"  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{saved['key']}').now())\"",
    ]


def saved_logins() -> list[Login]:
    path = _logins_file()
    if not path.exists():
        return []
    return [(role, email, password) for role, email, password in json.loads(path.read_text())]


def create_demo() -> tuple[list[Login], int] | None:
    """Create the demo data and return the logins and the demo plan's version id (to queue
    for rendering once committed), or None when the database already has accounts."""
    if db.session.scalar(select(func.count(User.id))) or db.session.scalar(select(func.count(Organisation.id))):
        return None
    organisation = accounts.create_organisation({"name": "Beth Shalom Congregation", "faith_tradition": "Jewish"})
    logins: list[Login] = []
    users: dict[Role, User] = {}
    for role in Role:
        email = f"{role.value}@demo.floorplans.local"
        password = accounts.generate_password()
        users[role] = accounts.create_user(
            email=email,
            role=role.value,
            password=password,
            name=f"Demo {role.label.lower()}",
            organisation=organisation if role is Role.PARTNER else None,
            temporary=False,  # the printed demo logins stay usable as printed
        )
        logins.append((role.value, email, password))

    building = buildings.create_building(
        organisation,
        {
            "name": "Beth Shalom Synagogue",
            "street": "123 Main Street",
            "city": "Toronto",
            "region": "ON",
            "postal_code": "M5V 2T6",
            "latitude": "43.6455",
            "longitude": "-79.3951",
            "capacity": "450",
            "entrances": "Main doors on Main Street (1), accessible ramp door on the east side (2), "
            "kitchen door to the rear lot (3, kept locked).",
            "key_box": "Knox box left of the main doors, at shoulder height.",
            "shutoff_gas": "Meter on the west wall outside, valve at the meter.",
            "shutoff_electric": "Main panel in the basement boiler room, north-east corner.",
            "shutoff_water": "Basement boiler room, next to the water meter.",
            "alarm_company": "Northside Alarm Monitoring, 416-555-0142",
            "alarm_panel": "Inside the main doors, on the right.",
            "hazards": "Candles in the sanctuary on Friday evenings. Oxygen cylinders in the "
            "first-aid room on the ground floor.",
            "notes": "Security volunteers in yellow vests at the main doors during services.",
        },
        by=users[Role.PARTNER],
    )
    for values in (
        {"name": "Miriam Cohen", "role": "Executive director", "phone": "416-555-0101",
         "email": "director@example.org", "key_holder": True, "available_days": "01234",
         "available_from": "08:00", "available_until": "18:00", "languages": "English, Hebrew"},
        {"name": "David Levi", "role": "Caretaker", "phone": "416-555-0177", "key_holder": True,
         "available_24_7": True, "languages": "English, Russian"},
        {"name": "Security desk", "role": "Volunteer security team", "phone": "416-555-0199",
         "available_days": "45", "available_from": "17:00", "available_until": "23:00",
         "languages": "English, French"},
    ):
        contacts.add_contact(building, values)
    for values in (
        {"label": "Shabbat evening service", "weekday": "4", "start_time": "18:00", "end_time": "20:00",
         "expected_attendance": "250", "children_areas_in_use": True},
        {"label": "Shabbat morning service", "weekday": "5", "start_time": "09:30", "end_time": "12:30",
         "expected_attendance": "400", "children_areas_in_use": True},
        {"label": "Hebrew school", "weekday": "6", "start_time": "09:00", "end_time": "12:00",
         "expected_attendance": "80", "children_areas_in_use": True},
    ):
        gatherings.add_gathering(building, values)
    building.last_verified_at = utcnow() - dt.timedelta(days=20)  # last checked 20 days ago
    version = plans.upload_plan(building, io.BytesIO(demo_plan_pdf()), "beth-shalom-plans.pdf", by=users[Role.PARTNER])
    plans.update_pages(version, {page.id: label for page, label in zip(version.pages, ("Ground floor", "Basement"),
                                                                       strict=True)}, [])
    _place_demo_markers(version, users[Role.PARTNER])

    # The administrator is enrolled as a real one would be (the demo shows the service as it
    # runs): its key is printed with the logins and kept beside them, 0600.
    admin = users[Role.ADMIN]
    key = login.new_secret()
    login.enable_two_factor(admin, key, pyotp.TOTP(key).now())
    _save_private(_two_factor_file(), {
        "role": Role.ADMIN.value, "email": admin.email, "key": key,
        "uri": login.provisioning_uri(admin, key, get_settings().service_name),
    })
    _save_private(_logins_file(), logins)
    return logins, version.id


#: Where the demo drawing's doors and fittings are (floorplans.demo_plan: 1224 x 792 pt pages),
#: page-relative: page number, kind, x, y and the other values.
DEMO_MARKERS: tuple[tuple[int, str, float, float, dict[str, object]], ...] = (
    (1, "door", 770 / 1224, 700 / 792, {"number": 1, "side": "A", "label": "Main doors"}),
    (1, "door", 1140 / 1224, 230 / 792, {"number": 2, "side": "B", "label": "Ramp door"}),
    (1, "door", 1090 / 1224, 700 / 792, {"number": 3, "label": "Kitchen, locked"}),
    (1, "key_box", 735 / 1224, 728 / 792, {"label": "Knox box", "note": "Left of the main doors, shoulder height."}),
    (1, "fire_alarm_panel", 815 / 1224, 665 / 792, {"note": "Inside the main doors, on the right."}),
    (1, "aed", 700 / 1224, 600 / 792, {"label": "AED"}),
    (1, "first_aid", 545 / 1224, 640 / 792, {}),
    (1, "hazard", 600 / 1224, 560 / 792, {"label": "Oxygen cylinders"}),
    (1, "gas_shutoff", 55 / 1224, 300 / 792, {"label": "Gas meter", "note": "West wall, outside."}),
    (1, "stairs", 410 / 1224, 555 / 792, {}),
    (1, "rally_point", 560 / 1224, 765 / 792, {"label": "Rally point", "note": "Parking lot across Main Street."}),
    (2, "electric_shutoff", 1070 / 1224, 200 / 792, {"label": "Main panel"}),
    (2, "water_shutoff", 1070 / 1224, 330 / 792, {"label": "Water meter"}),
    (2, "childrens_area", 300 / 1224, 170 / 792, {}),
    (2, "door", 80 / 1224, 560 / 792, {"number": 4, "side": "D", "label": "Basement exit"}),
    (2, "stairs", 410 / 1224, 590 / 792, {}),
)


def _place_demo_markers(version: PlanVersion, partner: User) -> None:
    """The demo's markers, placed before its plan renders (their pages exist already)."""
    pages = {page.number: page for page in version.pages}
    for number, kind, x, y, values in DEMO_MARKERS:
        if number in pages:
            markers.place(pages[number], {"kind": kind, "x": round(x, 4), "y": round(y, 4), **values}, by=partner,
                          before_rendering=True)


def publish_demo_plan(version: PlanVersion) -> bool:
    """The demo partner has "reviewed" the demo's plan (its sheets are named, its markers
    placed by hand): publish it.  False if it did not render."""
    if not version.has_tiles:
        return False
    partner = version.uploaded_by
    plans.publish(version, by=partner)
    return True
