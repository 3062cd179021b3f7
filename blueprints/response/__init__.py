"""The in-car view: find a building, read its 30-second card, see its plan, even offline.

Read-only, for officers, planners and admins (partners see their own buildings the same
way).  Server-rendered pages with a little JavaScript of our own, Leaflet from a package,
and a service worker that keeps what the officer opened.  Modules by concept: ``find``
(search, CAD lookup, nearest), ``building`` (card and plan), ``tiles``, ``offline``
(service worker, keep-offline packs) and ``assets`` (fingerprinted static files).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, request

bp = Blueprint("response", __name__, url_prefix="/r")


@bp.context_processor
def _page_time() -> dict[str, str]:
    """When the page was made, in UTC: a copy the service worker serves later says its age."""
    return {"generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}


@bp.after_app_request
def forget_offline_copies(response: Response) -> Response:
    """Signing out wipes what the service worker kept (records hold private phone numbers):
    the browser drops Cache Storage and the worker itself.  incar.js also clears the caches
    on submit, for browsers that ignore the header."""
    if request.endpoint == "auth.logout" and response.status_code < 400:
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


from blueprints.response import assets, building, exports, find, offline, photos, tiles  # noqa: E402,F401  (routes register on bp)
