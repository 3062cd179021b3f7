"""Print & export a building: the packet PDF, the markers as GeoJSON, a page as PNG, and
the small form that chooses them.  Every download is logged by the service (the access
log, the building's own partners included, and the audit log).

Downloads are attachments with a generated name and ``Cache-Control: no-store``: a copy of
a place of worship's security plan should not linger in a shared browser's cache.

Downloads come only from our own pages (``require_same_site``): a link or a form on another
site must not make a signed-in officer's browser fetch a plan, logged under that officer.
The Print & export page's buttons are POST forms with the CSRF token; a GET is accepted
when the browser says it comes from this site (``Sec-Fetch-Site``).  API clients with a
bearer token are not concerned (a browser never sends the token on its own).  The packet
is also held to the quotas (``services.quotas``): per account per minute and per process.
"""
from __future__ import annotations

import json
import re

from flask import Response, abort, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from blueprints.response import bp
from floorplans.auth import permission
from floorplans.bounds import record_id
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Building, User
from floorplans.permissions import Permission
from floorplans.services import buildings, exports, quotas

#: ``Sec-Fetch-Site`` of a request our own pages made, or the officer typed or bookmarked.
SAME_SITE = frozenset({"same-origin", "same-site", "none"})
CROSS_SITE = ("This download was started by another website, so it was refused: plans and exports are "
              "downloaded only from this service's own pages. Open the building's Print & export page and "
              "use its buttons.")
NOT_FROM_OUR_PAGE = ("Downloads start from the buttons of the building's Print & export page (this browser "
                     "did not say which site asked for the file). Open that page and download from there.")


def require_same_site() -> None:
    """403 unless the request is a bearer-token API call, a browser request that says it
    comes from this site, or (for browsers that do not say) a POST, whose CSRF token
    Flask-WTF has checked before the view."""
    if g.get("auth_channel") == "token":
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site.strip().lower() not in SAME_SITE:
            abort(403, description=CROSS_SITE)
    elif request.method != "POST":
        abort(403, description=NOT_FROM_OUR_PAGE)


def _params() -> MultiDict[str, str]:
    """The choices of an export: the page's POST form, or a GET's query string."""
    return request.form if request.method == "POST" else request.args


def attachment(data: bytes, filename: str, mimetype: str) -> Response:
    """A download: never shown inline, never stored by the browser or a proxy."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def optional_int(name: str) -> int | None:
    text = _params().get(name, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput({name: "must be a number."})
    digits = text.lstrip("0") or "0"
    # A size of more digits is past every limit, which the service applies (not a 500 from int()).
    return int(digits) if len(digits) <= 9 else 10**9


def optional_id(name: str) -> int | None:
    """A record's id from the query string; one no record can have is "not found" (404)."""
    text = _params().get(name, "").strip()
    return record_id(text, name) if text else None


def flag(name: str) -> bool:
    """A layer is drawn unless ``<name>=0`` (or no/false/off); from the export form (``form=1``)
    an unchecked box sends nothing, so there a missing value means off."""
    value = _params().get(name)
    if value is None:
        return "form" not in _params()
    return value.lower() not in ("0", "no", "false", "off", "")


#: What the export page's script sends to learn that its download has arrived: a random
#: token of its own (no secret; it only ever comes back to the page that made it).
DOWNLOAD_TOKEN = re.compile(r"[A-Za-z0-9]{8,32}")


def packet_response(user: User, building_id: int, channel: str) -> Response:
    require_same_site()
    buildings.get_readable(user, building_id)  # someone else's building is "not found", and costs no quota
    with quotas.packet_slot(user):  # over a quota: 429 with Retry-After (blueprints/limits.py)
        db.session.commit()  # counted now; and no write transaction stays open while the packet is drawn
        download = exports.packet_download(
            user, building_id, paper=_params().get("paper", "letter"), exercise_id=optional_id("exercise"),
            channel=channel, ip_address=request.remote_addr or "",
        )
    response = attachment(download.data, download.filename, download.mimetype)
    token = _params().get("ready", "")
    if DOWNLOAD_TOKEN.fullmatch(token):
        # A download fires no event in the page: this cookie is how "Preparing the packet..."
        # learns that the file has arrived (incar.js).
        response.set_cookie("packet_ready", token, max_age=60, path=request.path.rsplit("/", 1)[0],
                            samesite="Strict", secure=request.is_secure)
    return response


def geojson_response(user: User, building_id: int, channel: str) -> Response:
    require_same_site()
    body, filename = exports.geojson_download(user, building_id, version_id=optional_id("version"),
                                              channel=channel, ip_address=request.remote_addr or "")
    return attachment(json.dumps(body, ensure_ascii=False).encode(), filename, "application/geo+json")


def png_response(user: User, building_id: int, page: int, channel: str) -> Response:
    require_same_site()
    download = exports.page_png(
        user, building_id, page, width=optional_int("width") or 2000, grid=flag("grid"),
        with_markers=flag("markers"), channel=channel, ip_address=request.remote_addr or "",
    )
    return attachment(download.data, download.filename, download.mimetype)


@bp.route("/buildings/<int:building_id>/export")
@permission(Permission.READ_RECORDS)
def export_page(building_id: int) -> ResponseReturnValue:
    building: Building = buildings.get_readable(current_user, building_id)
    version = exports.printable_version(building)
    return render_template(
        "response/export.html", building=building, version=version,
        pages=[p for p in version.shown_pages if p.width] if version else [],
        papers=exports.PAPERS, widths=exports.PNG_WIDTHS,
        exercises=exports.exercises_for(current_user, building),
    )


@bp.route("/buildings/<int:building_id>/export/packet.pdf", methods=["GET", "POST"])
@permission(Permission.READ_RECORDS)
def export_packet(building_id: int) -> ResponseReturnValue:
    return packet_response(current_user, building_id, "web")


@bp.route("/buildings/<int:building_id>/export/markers.geojson", methods=["GET", "POST"])
@permission(Permission.READ_RECORDS)
def export_markers(building_id: int) -> ResponseReturnValue:
    return geojson_response(current_user, building_id, "web")


@bp.route("/buildings/<int:building_id>/export/pages/<int:page>.png", methods=["GET", "POST"])
@permission(Permission.READ_RECORDS)
def export_page_png(building_id: int, page: int) -> ResponseReturnValue:
    return png_response(current_user, building_id, page, "web")
