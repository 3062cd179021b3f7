"""The in-car plan's Find box in a real Chromium: typing lists the rooms the plan names (the
same matches, floors and cells as the API), choosing one switches floor, flies there and
outlines it; it works offline from the kept plan; touch targets, contrast and nothing over
the grid's references or the markers, by day and at night, on the laptop and a phone.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from floorplans.services import rooms
from tests.blueprints.response.conftest import LiveSite, screenshot, sign_in

pytestmark = pytest.mark.browser


def open_plan(page: Any, site: LiveSite, building_id: int) -> None:
    page.goto(site.url + f"/r/buildings/{building_id}/plan")
    page.wait_for_selector("[data-plan][data-ready]")
    page.wait_for_selector("[data-find]:not([hidden])")


def results(page: Any, query: str) -> list[tuple[str, str]]:
    page.fill("[data-find-input]", query)
    page.wait_for_selector("[data-find-results]:not([hidden])")
    labels = page.locator(".find-result .find-label").all_inner_texts()
    where = page.locator(".find-result .find-where").all_inner_texts()
    return list(zip(labels, where, strict=True))


def server_results(site: LiveSite, name: str, query: str) -> list[tuple[str, str]]:
    with site.db():
        from floorplans.db import db
        from floorplans.models import Building

        building = db.session.get(Building, site.buildings[name].id)
        return [(m.text, f"{m.floor} · {m.cell}") for m in rooms.search(building, query, limit=12)]


def luminance(rgb: str) -> float:
    values = [int(v) / 255 for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(page: Any, selector: str) -> float:
    colours = page.eval_on_selector(selector, """node => {
        const style = getComputedStyle(node);
        let ground = node, bg = style.backgroundColor;
        while (bg === 'rgba(0, 0, 0, 0)' && ground.parentElement) {
            ground = ground.parentElement; bg = getComputedStyle(ground).backgroundColor;
        }
        return [style.color, bg];
    }""")
    first, second = sorted((luminance(colours[0]), luminance(colours[1])), reverse=True)
    return (first + 0.05) / (second + 0.05)


def overlaps(page: Any, selector: str, others: str) -> list[str]:
    """The elements matching ``others`` that a box matching ``selector`` covers."""
    return page.evaluate("""([selector, others]) => {
        const boxes = Array.from(document.querySelectorAll(selector)).filter(n => n.offsetParent)
            .map(n => n.getBoundingClientRect());
        return Array.from(document.querySelectorAll(others)).filter(n => n.offsetParent).filter(n => {
            const r = n.getBoundingClientRect();
            return boxes.some(b => b.left < r.right && r.left < b.right && b.top < r.bottom && r.top < b.bottom);
        }).map(n => n.textContent || n.className.baseVal || n.className);
    }""", [selector, others])


def test_find_lists_matches_switches_floor_and_outlines_the_room(live_site: LiveSite, car: Any) -> None:
    page = car.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    mosque, chapel = live_site.buildings["mosque"], live_site.buildings["chapel"]
    sign_in(page, live_site, live_site.users["officer"], f"/r/buildings/{chapel.id}/plan")
    open_plan(page, live_site, chapel.id)

    # The same matches, floors and cells as the API's, forgiving a typo and accents.
    for query in ("office", "lectre hall", "g10", "BRUCKE", "dining"):
        found = results(page, query)
        assert found, query
        assert found == server_results(live_site, "chapel", query), query
    assert results(page, "office")[0][0] == "Office"
    assert results(page, "zzzz") == []
    assert page.locator(".find-none").inner_text() == "Not named on this plan"

    # Scanned floors (OCR'd): choosing a match on another floor switches to it and flies there.
    open_plan(page, live_site, mosque.id)
    assert page.get_attribute("[data-plan]", "data-showing") == "0"
    found = results(page, "sayles secnd floor")
    assert found[0] == server_results(live_site, "mosque", "sayles secnd floor")[0]
    assert found[0][1].startswith("Second floor · ")
    zoom_before = page.evaluate("document.querySelector('[data-plan]').planViewer.map.getZoom()")
    page.locator(".find-result").first.click()
    page.wait_for_selector("[data-plan][data-found]")
    assert page.get_attribute("[data-plan]", "data-showing") == "2"
    assert page.locator("[data-floor='2']").get_attribute("aria-pressed") == "true"
    page.wait_for_timeout(900)  # the flight
    assert page.evaluate("document.querySelector('[data-plan]').planViewer.map.getZoom()") > zoom_before
    assert page.locator("path.find-highlight").count() == 1
    # The outline is where the label is: its centre on screen is the map's centre.
    centre = page.evaluate("""() => {
        const r = document.querySelector('path.find-highlight').getBoundingClientRect();
        const m = document.querySelector('[data-plan]').getBoundingClientRect();
        return [r.left + r.width / 2 - (m.left + m.width / 2), r.top + r.height / 2 - (m.top + m.height / 2)];
    }""")
    assert abs(centre[0]) < 40 and abs(centre[1]) < 40, centre
    assert page.locator("[data-find-results]").is_hidden()  # the list closes once a room is chosen
    assert errors == []


@pytest.mark.parametrize("size", [(1024, 768), (390, 844)], ids=["laptop", "phone"])
@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
def test_find_box_is_big_enough_readable_and_covers_nothing(
    live_site: LiveSite, chromium: Any, size: tuple[int, int], night: bool
) -> None:
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        page = context.new_page()
        chapel = live_site.buildings["chapel"]
        sign_in(page, live_site, live_site.users["officer"], f"/r/buildings/{chapel.id}/plan")
        open_plan(page, live_site, chapel.id)
        if night:
            page.click("[data-night-toggle]")
        found = results(page, "s20")
        assert len(found) >= 5
        for selector in ("[data-find-input]", ".find-result"):
            heights = page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.getBoundingClientRect().height)")
            assert min(heights) >= 44, (selector, heights)
        for selector in (".find-result .find-label", ".find-result .find-where", ".find-room-name",
                         "[data-find-input]"):
            assert contrast(page, selector) >= 4.5, selector
        theme = "night" if night else "day"
        screenshot(page, f"find-{size[0]}-{theme}-list")
        # The list is in the controls: nothing of it over the map, the grid's strips or a marker.
        assert overlaps(page, ".find-results", ".grid-label, .leaflet-marker-icon, [data-plan]") == []
        page.locator(".find-result").first.click()
        page.wait_for_timeout(900)
        assert overlaps(page, ".find-room", ".grid-label, .leaflet-marker-icon") == []
        assert page.locator(".grid-label.column").count() > 0 and page.locator(".grid-label.row").count() > 0
        screenshot(page, f"find-{size[0]}-{theme}-chosen")
    finally:
        context.close()


def test_find_works_offline_on_a_plan_kept_offline_but_never_opened(live_site: LiveSite, car: Any) -> None:
    """"Keep offline" from a search, then the network cut: the plan never opened on this
    laptop finds its rooms from what was kept (the labels travel in the plan page)."""
    page = car.new_page()
    chapel = live_site.buildings["chapel"]
    sign_in(page, live_site, live_site.users["officer"], "/r/")
    page.wait_for_url("**/r/")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.fill("input[name=q]", "toronto")
    page.press("input[name=q]", "Enter")
    page.click("[data-keep-offline-start]")
    page.wait_for_selector("[data-keep-offline][data-state]")
    assert page.get_attribute("[data-keep-offline]", "data-state") == "done"
    car.set_offline(True)
    try:
        page.goto(live_site.url + f"/r/buildings/{chapel.id}/plan")
        page.wait_for_selector("[data-plan][data-ready]")
        assert page.evaluate("document.body.dataset.copy") == "saved"
        page.wait_for_selector("[data-find]:not([hidden])")
        found = results(page, "libary")
        assert found == server_results(live_site, "chapel", "libary") and found[0][0] == "Library"
        page.locator(".find-result").first.click()
        page.wait_for_selector("[data-plan][data-found]")
        assert page.locator("path.find-highlight").count() == 1
        screenshot(page, "find-offline")
    finally:
        car.set_offline(False)
