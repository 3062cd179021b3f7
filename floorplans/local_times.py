"""Stored times (naive UTC) as the service shows them, in its time zone (``TIMEZONE``): the
templates, the mails and the exports print them alike.

Must not import blueprints, storage, converters or services (templating and the reminder
mails both import it).
"""
from __future__ import annotations

import datetime as dt

from floorplans.config import get_settings


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time shown in the service's time zone."""
    if value is None:
        return "never"
    return value.replace(tzinfo=dt.UTC).astimezone(get_settings().zone).strftime(fmt)
