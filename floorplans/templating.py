"""What templates may call: dates in the service's time zone, dialable phone links,
weekday names, and the permission checks that decide which buttons to show.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask
from flask_login import current_user

from floorplans import tile_urls
from floorplans.bounds import neutralise_bidi
from floorplans.config import get_settings
from floorplans.fields import WEEKDAYS
from floorplans.local_times import local_time
from floorplans.models import Building
from floorplans.permissions import Permission, can_edit, has_permission
from floorplans.services import reminders
from floorplans.services.buildings import is_stale


def tel_uri(phone: str) -> str:
    """tel: link an in-car tablet or a phone can dial: digits and a leading +, extension as ;ext=."""
    main, _, extension = _split_extension(phone)
    uri = "tel:" + ("+" if main.strip().startswith("+") else "") + re.sub(r"\D", "", main)
    return uri + (f";ext={extension}" if extension else "")


def _split_extension(phone: str) -> tuple[str, str, str]:
    match = re.search(r"(?i)\s*(?:x|ext\.?)\s*([0-9]{1,6})\s*$", phone)
    if not match:
        return phone, "", ""
    return phone[: match.start()], "x", match.group(1)


def weekday_name(number: int | None) -> str:
    return WEEKDAYS[number] if number is not None else ""


def days_text(digits: str) -> str:
    """"01234" -> "Mon–Fri"; "056" -> "Mon, Sat, Sun"."""
    days = [int(d) for d in digits or ""]
    if not days:
        return ""
    if len(days) == 7:
        return "every day"
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{WEEKDAYS[days[0]][:3]}–{WEEKDAYS[days[-1]][:3]}"
    return ", ".join(WEEKDAYS[d][:3] for d in days)


def hhmm(value: dt.time | None) -> str:
    return value.strftime("%H:%M") if value else ""


def _globals() -> dict[str, Any]:
    def user_can_edit(building: Building) -> bool:
        return current_user.is_authenticated and can_edit(current_user, building)

    def user_has(permission: Permission) -> bool:
        return current_user.is_authenticated and has_permission(current_user, permission)

    def stale(building: Building) -> bool:
        return is_stale(building, stale_after_days=get_settings().stale_after_days)

    def reminders_due() -> list[reminders.DueBuilding]:
        return reminders.due_for_user(current_user) if current_user.is_authenticated else []

    return {
        "Permission": Permission,
        "reminders_due": reminders_due,
        "can_edit": user_can_edit,
        "has_permission": user_has,
        "is_stale": stale,
        "service_name": get_settings().service_name,
    }


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        local_time=local_time, tel=tel_uri, weekday=weekday_name, days=days_text, hhmm=hhmm,
        without_bidi=neutralise_bidi,
    )
    # Every {{ ... }} of every template: bidirectional controls in user text (a right-to-left
    # override made a card read backwards) are removed before escaping (floorplans.bounds).
    app.jinja_env.finalize = neutralise_bidi
    app.context_processor(_globals)
    # A true global, not a context variable: imported form macros see globals only.
    app.jinja_env.globals["WEEKDAYS"] = WEEKDAYS
    # The in-car pages hand the tile URL grammar to their scripts (static/js/incar.js).
    app.jinja_env.globals["tile_grammar"] = tile_urls.for_browser
