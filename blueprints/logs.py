"""The logs' pages, as the partner portal and the administration both show them: the
filters a log reads from its query string (a day range and a building number, shared by
the access log and the audit log), and the access log's page itself (a building's, for its
partners; all of them, for an administrator)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from floorplans.models import Building
from floorplans.services import access


@dataclass(frozen=True)
class LogRange:
    """What a log's filters share in a query string: a day range and a building number."""

    start: dt.datetime | None
    end: dt.datetime | None  # the day after the last one asked for: the end day is included
    building_id: int | None


def log_range(args: Mapping[str, str], problems: list[str]) -> LogRange:
    """The dates and building of a log's query string; what cannot be read is named in
    ``problems`` and left out."""

    def day(name: str) -> dt.datetime | None:
        value = args.get(name, "").strip()
        if not value:
            return None
        try:
            return dt.datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            problems.append(f"'{name}' must be a date like 2026-01-31")
            return None

    start, end = day("start"), day("end")
    building = args.get("building", "").strip()
    if building and not building.isdigit():
        problems.append("'building' must be a building's number")
    return LogRange(start, end + dt.timedelta(days=1) if end else None, int(building) if building.isdigit() else None)


def kept_filters(args: Mapping[str, str]) -> dict[str, str]:
    """The query string's filters, without the page keys (the pager adds its own)."""
    return {k: v for k, v in args.items() if k not in ("before", "after", "page") and v}


def access_filters(args: Mapping[str, str]) -> tuple[access.Filters, list[str]]:
    """The access log's filters in a query string; what cannot be read is named and left out."""
    problems: list[str] = []
    found = log_range(args, problems)
    filters = access.Filters(
        who=args.get("who", "").strip()[:254],
        building_id=found.building_id,
        action=args.get("action", "").strip()[:40],
        start=found.start,
        end=found.end,
    )
    return filters, problems


def access_log_page(template: str, building: Building | None = None) -> ResponseReturnValue:
    """The access log's page a page of events at a time, filtered by the query string:
    ``building``'s events, or (None) every event the signed-in user may read."""
    filters, problems = access_filters(request.args)
    events = access.access_log(current_user, building=building, filters=filters,
                               before=request.args.get("before", type=int), after=request.args.get("after", type=int))
    return render_template(template, building=building, events=events, problems=problems, args=request.args,
                           query=kept_filters(request.args), action_words=access.ACTION_WORDS)
