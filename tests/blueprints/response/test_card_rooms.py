"""The card names where the plan puts the children, the boiler or mechanical room and the
kitchen ("Nursery: Ground floor, C3"), from the shown plan's labels only."""

from __future__ import annotations

import re

from converters import rooms as labels
from floorplans import objects
from floorplans.db import db
from floorplans.models import Role
from floorplans.services import rendering
from tests.floorplans.test_markers import ready_version


def places(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<div class="fact place [^"]*" data-place><dt>([^<]*)</dt><dd>([^<]*)</dd>', html)


def test_card_names_childrens_areas_boiler_room_and_kitchen(browser_for, make_user, make_building) -> None:
    building = make_building()
    version = ready_version(building, "Ground floor", "Sheet index", "Basement", publish=True)
    version.pages[1].hidden = True
    db.session.commit()
    rendering.put_labels(objects.get_storage(), version.key, [
        labels.PageLabels(1, "text", (
            labels.Label("Kitchen", (0.60, 0.10, 0.65, 0.12)),
            labels.Label("Office", (0.10, 0.10, 0.15, 0.12)),
            labels.Label("Crèche", (0.25, 0.45, 0.30, 0.47)),
            labels.Label("Sunday School 2", (0.70, 0.70, 0.80, 0.72)),
            labels.Label("Kitchen Architects Ltd", (0.9, 0.9, 0.95, 0.95), repeated=True),
        )),
        labels.PageLabels(2, "text", (labels.Label("Nursery furniture", (0.1, 0.1, 0.2, 0.2)),)),
        labels.PageLabels(3, "text", (labels.Label("MECH. ROOM", (0.30, 0.20, 0.35, 0.22)),
                                      labels.Label("Boiler", (0.55, 0.75, 0.60, 0.77)))),
    ])
    html = browser_for(make_user(Role.OFFICER)).get(f"/r/buildings/{building.id}").get_data(as_text=True)
    assert places(html) == [
        ("Crèche", "Ground floor, C3"), ("Sunday School 2", "Ground floor, H4"),
        ("Mech. room", "Basement, D2"), ("Boiler", "Basement, F4"),
        ("Kitchen", "Ground floor, G1"),
    ]


def test_card_without_labels_names_no_places(browser_for, make_user, make_building) -> None:
    building = make_building()
    ready_version(building, "Ground floor", publish=True)
    html = browser_for(make_user(Role.OFFICER)).get(f"/r/buildings/{building.id}").get_data(as_text=True)
    assert places(html) == [] and "data-card" in html
