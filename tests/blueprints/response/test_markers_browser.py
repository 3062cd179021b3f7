"""Markers in a real Chromium: a partner places markers on the plan in the editor by clicking
(and drags one), then an officer sees them on the in-car plan at the same place on the page,
with the legend, the Markers toggle and night mode (the icons keep their colours).
Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from floorplans.db import db
from floorplans.models import Marker
from tests.blueprints.response.conftest import LiveSite, screenshot, sign_in

pytestmark = pytest.mark.browser


def watch(page: Any, errors: list[str]) -> Any:
    """Collect script errors, CSP violations and failed loads (a missing sprite would be one;
    the 422 the test provokes and the browser's favicon guess are expected)."""
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("console", lambda message: errors.append(f"{page.url}: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text else None)
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.status != 422 and not response.url.endswith("/favicon.ico")
            else None)
    return page


def open_editor(live_site: LiveSite, chromium: Any, errors: list[str]) -> tuple[Any, Any]:
    """The partner's marker editor on the mosque's published plan, ready: (context, page)."""
    mosque = live_site.buildings["mosque"]
    with live_site.db():
        version_id = db.session.get(type(mosque), mosque.id).published_version_id
    office = chromium.new_context(viewport={"width": 1280, "height": 900})
    office.set_default_timeout(15_000)
    page = watch(office.new_page(), errors)
    editor_url = f"/portal/buildings/{mosque.id}/plans/{version_id}/markers"
    sign_in(page, live_site, live_site.users["partner"], editor_url)
    page.wait_for_url(f"**{editor_url}")
    page.wait_for_selector("[data-plan][data-ready='0']")
    return office, page


def screen_point(page: Any, fx: float, fy: float) -> tuple[float, float]:
    """Where a page-relative point of the floor on screen is, in the window's pixels."""
    return page.evaluate("""([fx, fy]) => {
        const el = document.querySelector('[data-plan]'), viewer = el.planViewer;
        const point = viewer.map.latLngToContainerPoint(viewer.toLatLng(viewer.page(), fx, fy));
        const box = el.getBoundingClientRect();
        return [box.left + point.x, box.top + point.y];
    }""", [fx, fy])


def centre_of(page: Any, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def pixel(page: Any, x: float, y: float) -> tuple[int, int, int]:
    image = Image.open(io.BytesIO(page.screenshot()))
    return image.convert("RGB").getpixel((round(x), round(y)))


def is_green(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return g > 90 and g > r + 40 and g > b + 30


def test_partner_places_markers_and_an_officer_sees_them(live_site: LiveSite, chromium: Any) -> None:
    errors: list[str] = []
    mosque = live_site.buildings["mosque"]

    # --- the partner, in the editor ------------------------------------------------------
    office, page = open_editor(live_site, chromium, errors)
    assert page.locator("[data-floor]").first.inner_text() == "Basement"

    page.click("[data-marker-kind='aed']")
    assert page.locator("[data-marker-kind='aed']").get_attribute("aria-pressed") == "true"
    page.mouse.click(*screen_point(page, 0.40, 0.30))
    page.wait_for_selector(".plan-marker[data-kind='aed']")
    assert page.locator("[data-marker-kind='aed']").get_attribute("aria-pressed") == "false"
    page.fill("#marker-label", "AED by the office")
    page.click("[data-marker-form] button[type=submit]")
    page.wait_for_selector("[data-marker-message]:has-text('Saved.')")

    page.click("[data-marker-kind='door']")
    page.mouse.click(*screen_point(page, 0.52, 0.97))
    page.wait_for_selector(".plan-marker[data-kind='door']")
    assert page.locator("#marker-number").input_value() == "1"  # the first door is 1
    page.select_option("#marker-side", "A")
    page.click("[data-marker-form] button[type=submit]")
    page.wait_for_selector(".plan-marker[data-kind='door'] .marker-text:has-text('Door 1 (side A)')")

    # A mistake, shown next to the field: labels are short.
    page.fill("#marker-label", "x" * 81)
    page.evaluate("document.querySelector('#marker-label').removeAttribute('maxlength')")
    page.fill("#marker-label", "x" * 81)
    page.click("[data-marker-form] button[type=submit]")
    page.wait_for_selector("[data-field-error='label']:has-text('at most 80')")
    page.fill("#marker-label", "Main doors")
    page.click("[data-marker-form] button[type=submit]")
    page.wait_for_selector(".plan-marker[data-kind='door'] .marker-text:has-text('Door 1 (side A) · Main doors')")

    # Drag the AED a little: it moves where it is dropped.  (Saving scrolled the page to the
    # form's button, beside the plan: the partner scrolls back to the plan first.)
    page.evaluate("document.querySelector('[data-plan]').scrollIntoView({block: 'center'})")
    start = centre_of(page, ".plan-marker[data-kind='aed']")
    target = screen_point(page, 0.45, 0.35)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + target[0]) / 2, (start[1] + target[1]) / 2, steps=4)
    page.mouse.move(*target, steps=4)
    page.mouse.up()
    page.wait_for_selector("[data-marker-message]:has-text('Moved.')")
    assert page.locator("[data-marker-list] button").count() == 2
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "markers-editor")

    with live_site.db():
        placed = {m.kind: m for m in db.session.scalars(select(Marker).where(Marker.building_id == mosque.id))}
        assert set(placed) == {"aed", "door"}
        aed, door = placed["aed"], placed["door"]
        assert abs(aed.x - 0.45) < 0.01 and abs(aed.y - 0.35) < 0.01, (aed.x, aed.y)
        assert aed.label == "AED by the office" and (door.number, door.side, door.label) == (1, "A", "Main doors")
        assert abs(door.x - 0.52) < 0.01 and abs(door.y - 0.97) < 0.01
        aed_at, door_at = (aed.x, aed.y), (door.x, door.y)
    office.close()

    # --- an officer, in the car ----------------------------------------------------------
    car = chromium.new_context(viewport={"width": 1024, "height": 768})
    car.set_default_timeout(15_000)
    page = watch(car.new_page(), errors)
    sign_in(page, live_site, live_site.users["officer"], f"/r/buildings/{mosque.id}/plan")
    page.wait_for_selector("[data-plan][data-ready='0']")
    page.wait_for_selector(".plan-marker[data-kind='aed']")
    assert page.locator(".plan-marker").count() == 2
    # Where the partner put it: the icon's centre is the page-relative point, on screen.
    for kind, (fx, fy) in (("aed", aed_at), ("door", door_at)):
        cx, cy = centre_of(page, f".plan-marker[data-kind='{kind}']")
        ex, ey = screen_point(page, fx, fy)
        assert abs(cx - ex) < 1.5 and abs(cy - ey) < 1.5, (kind, cx, cy, ex, ey)
    assert page.locator(".plan-marker[data-kind='door'] .marker-text").inner_text() == "Door 1 (side A) · Main doors"
    assert "AED by the office" in page.locator(".plan-marker[data-kind='aed']").get_attribute("title")
    # The icon is drawn from our own sprite (no other host): the AED's green at its centre.
    assert is_green(pixel(page, *centre_of(page, ".plan-marker[data-kind='aed'] .marker-icon")))

    # The legend: closed, then open, listing the kinds on this plan.
    legend = page.locator("[data-legend-toggle]")
    assert not page.locator(".marker-legend-panel").is_visible()
    legend.click()
    assert legend.get_attribute("aria-expanded") == "true"
    assert page.locator(".marker-legend-panel li").all_inner_texts() == ["Exterior door", "AED (defibrillator)"]
    screenshot(page, "markers-in-car-legend")
    legend.click()
    assert not page.locator(".marker-legend-panel").is_visible()

    # The Markers toggle hides and shows them.
    toggle = page.locator("[data-markers-toggle]")
    assert toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "false"
    assert page.locator(".plan-marker").count() == 0 or not page.locator(".plan-marker").first.is_visible()
    toggle.click()
    page.wait_for_selector(".plan-marker[data-kind='aed']")
    screenshot(page, "markers-in-car-day")

    # Another floor has none; back to the basement, they are there again.
    page.click("[data-floor='1']")
    page.wait_for_selector("[data-plan][data-ready='1']")
    assert page.locator(".plan-marker").count() == 0
    page.click("[data-floor='0']")
    page.wait_for_selector(".plan-marker[data-kind='aed']")

    # Night: the tiles are inverted, the icons are not.
    page.click("[data-night-toggle]")
    page.wait_for_timeout(300)
    assert "invert(1)" in page.evaluate("getComputedStyle(document.querySelector('.leaflet-tile-pane')).filter")
    assert page.evaluate("getComputedStyle(document.querySelector('.leaflet-marker-pane')).filter") == "none"
    assert is_green(pixel(page, *centre_of(page, ".plan-marker[data-kind='aed'] .marker-icon")))
    label_ground = "getComputedStyle(document.querySelector('.plan-marker .marker-text')).backgroundColor"
    assert page.evaluate(label_ground) == "rgba(0, 0, 0, 0.86)"  # light text on dark at night
    screenshot(page, "markers-in-car-night")

    # Offline: the saved copy of the plan still draws its markers, icons from the shell's sprite.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()  # now through the service worker, which keeps the page and its tiles
    page.wait_for_selector("[data-plan][data-ready='0']")
    car.set_offline(True)
    page.reload()
    page.wait_for_selector("[data-plan][data-ready='0']")
    assert page.evaluate("document.body.dataset.copy") == "saved"
    page.wait_for_selector(".plan-marker[data-kind='aed']")
    assert page.locator(".plan-marker").count() == 2
    assert is_green(pixel(page, *centre_of(page, ".plan-marker[data-kind='aed'] .marker-icon")))
    screenshot(page, "markers-in-car-offline-night")
    car.set_offline(False)
    car.close()
    assert errors == []


def test_labels_by_the_edge_of_the_plan_are_read_whole(live_site: LiveSite, chromium: Any) -> None:
    # A door by the east wall: its label would run off the screen on the icon's right, so it
    # goes on the left; one by the west wall keeps the right side.  Whole labels, both, and
    # doors named "Door 2 (side B)", never "B2" (a grid square's name).
    errors: list[str] = []
    chapel = live_site.buildings["chapel"]
    with live_site.db():
        page_id = db.session.get(type(chapel), chapel.id).published_version.pages[0].id
        db.session.add_all([
            Marker(building_id=chapel.id, page_id=page_id, kind="door", x=0.985, y=0.5, number=2, side="B",
                   label="Ramp door, east"),
            Marker(building_id=chapel.id, page_id=page_id, kind="door", x=0.015, y=0.6, number=4, side="D",
                   label="Fire exit, west"),
        ])
        db.session.commit()
    for width in (1024, 560):
        car = chromium.new_context(viewport={"width": width, "height": 768})
        car.set_default_timeout(15_000)
        page = watch(car.new_page(), errors)
        sign_in(page, live_site, live_site.users["officer"], f"/r/buildings/{chapel.id}/plan")
        page.wait_for_selector("[data-plan][data-ready='0']")
        page.wait_for_selector(".plan-marker[data-kind='door']")
        plan = page.locator("[data-plan]").bounding_box()
        for text in ("Door 2 (side B) · Ramp door, east", "Door 4 (side D) · Fire exit, west"):
            label = page.locator(f".marker-text:has-text('{text}')")
            assert label.inner_text() == text
            assert label.evaluate("node => node.scrollWidth <= node.clientWidth")  # not cut short by its ellipsis
            box = label.bounding_box()
            assert plan["x"] <= box["x"] and box["x"] + box["width"] <= plan["x"] + plan["width"], (width, text, box)
        # Beside the page's east edge there is less room than the label needs, on both screens.
        east = page.locator(".plan-marker:has-text('Ramp door, east')")
        assert "label-left" in east.get_attribute("class").split(), width
        assert "label-right" in page.locator(".plan-marker:has-text('Fire exit, west')").get_attribute("class").split()
        screenshot(page, f"markers-in-car-edges-{width}")
        car.close()
    assert errors == []


def test_a_change_made_without_a_network_says_so_and_saves_once_it_is_back(live_site: LiveSite,
                                                                             chromium: Any) -> None:
    # The editor saves through static/js/save.js: no answer is "No connection", nothing is
    # drawn as if it were saved; the same click with the network back saves (CSRF header and all).
    errors: list[str] = []
    mosque = live_site.buildings["mosque"]
    office, page = open_editor(live_site, chromium, errors)
    try:
        page.click("[data-marker-kind='first_aid']")
        office.set_offline(True)
        page.mouse.click(*screen_point(page, 0.30, 0.60))
        page.wait_for_selector("[data-marker-message].error:has-text('No connection: the change was not saved.')")
        assert page.locator(".plan-marker[data-kind='first_aid']").count() == 0
        assert page.locator("[data-marker-kind='first_aid']").get_attribute("aria-pressed") == "true"  # still armed

        office.set_offline(False)
        page.mouse.click(*screen_point(page, 0.30, 0.60))
        page.wait_for_selector(".plan-marker[data-kind='first_aid']")
        page.wait_for_selector("[data-marker-message]:not(.error):has-text('added')")
    finally:
        office.close()
    with live_site.db():
        kinds = [m.kind for m in db.session.scalars(select(Marker).where(Marker.building_id == mosque.id))]
    assert kinds.count("first_aid") == 1
    assert errors == []
