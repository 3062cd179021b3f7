"""Finding the building: by name or address, by the address a CAD system links to, by
distance from the car, and from the officer's own recent views."""
from __future__ import annotations

from collections.abc import Sequence

from flask import jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.response import bp
from floorplans.addresses import MAX_ADDRESS_CHARS
from floorplans.auth import permission
from floorplans.errors import InvalidInput
from floorplans.models import Building
from floorplans.paging import Page, page_number
from floorplans.permissions import Permission
from floorplans.services import access, buildings, finding, offline

# Results a page of the Find page.  A town's name matches thousands of a province's
# buildings; more than twenty is more than the car's screen shows at once, so the page says
# that more match and how to narrow them, and the next page is a tap away.
FOUND_PAGE_SIZE = 20


@bp.route("/")
@permission(Permission.READ_RECORDS)
def index() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    number = page_number(request.args.get("page"))
    found: Page[Building] = Page([])
    if query:
        # The results show names and addresses, not congregations.  One row more than the
        # page tells whether another follows (floorplans.paging).
        rows = buildings.search(current_user, query, limit=FOUND_PAGE_SIZE + 1,
                                offset=(number - 1) * FOUND_PAGE_SIZE, congregations=False)
        if not rows and number > 1:  # past the last page (a link kept while records changed)
            return redirect(url_for("response.index", q=query))
        found = Page(rows[:FOUND_PAGE_SIZE], number=number, more=len(rows) > FOUND_PAGE_SIZE)
    return render_template(
        "response/index.html", q=query, buildings=found.items, page=found, page_size=FOUND_PAGE_SIZE,
        recent=_recent(found.items), lookup=None, query_cut=buildings.search_words(query)[1],
        max_words=buildings.MAX_SEARCH_WORDS, zone_km=offline.ZONE_KILOMETRES,
        keep=offline.keep_size(current_user, found.items) if found.items else None,
    )


@bp.route("/lookup")
@permission(Permission.READ_RECORDS)
def lookup() -> ResponseReturnValue:
    """The CAD deep link: ``/r/lookup?address=123 Main St, Toronto``.  The card opens straight
    away only when one building is at exactly that street address; a near match ("Main Ave"
    for "Main Street") shows what differs and waits for the officer to choose."""
    address = request.args.get("address", "").strip()
    found = finding.lookup_address(current_user, address)
    if found.opens is not None:
        return redirect(url_for("response.card", building_id=found.opens.id))
    return render_template(
        "response/index.html", q=found.sent, buildings=found.buildings, recent=_recent(found.buildings),
        lookup=found, query_cut=False, max_chars=MAX_ADDRESS_CHARS,
        keep=offline.keep_size(current_user, found.buildings) if found.buildings else None,
        zone_km=offline.ZONE_KILOMETRES,
    )


def _recent(found: Sequence[Building]) -> list[Building]:
    """The officer's recently viewed buildings, for a Find page that found none (or was asked
    nothing): under a list of results, a second list of buildings unrelated to what was asked
    would be one more to scroll past, and one to mistake for a result."""
    return [] if found else access.recently_viewed(current_user)


def coordinate(name: str) -> float:
    """A decimal-degree number of the query string (``lat``, ``lon``): the car's position."""
    try:
        return float(request.args.get(name, ""))
    except ValueError:
        raise InvalidInput({name: "must be a number in decimal degrees."}) from None


@bp.route("/nearest")
@permission(Permission.READ_RECORDS)
def nearest() -> ResponseReturnValue:
    """JSON for the "nearest to me" button (the browser knows where the car is, we don't)."""
    nearby = finding.nearest(current_user, coordinate("lat"), coordinate("lon"))
    return jsonify(buildings=[
        {
            "id": n.building.id, "name": n.building.name, "address": n.building.address,
            "metres": round(n.metres), "distance": finding.distance_text(n.metres), "direction": n.direction,
            "bearing": round(n.bearing), "card_url": url_for("response.card", building_id=n.building.id),
        }
        for n in nearby
    ])
