"""Photos in the in-car view, in a real Chromium at 1024 x 768 and 390 x 844, by day and at
night: a tap on the gas shut-off shows its photo in the marker's panel (loaded, upright,
never over a grid reference nor over the tapped marker), and the card shows the front of the
building beside its name without pushing the essentials off the laptop's screen.
Screenshots go to test-artifacts/photos-*.png."""

from __future__ import annotations

import io
from typing import Any

import pytest

from floorplans.db import db
from floorplans.models import Building, Marker, User
from floorplans.services import photos
from tests.blueprints.response.conftest import LiveSite, screenshot, sign_in
from tests.blueprints.response.test_plan_layout_browser import MEASURE, settle
from tests.converters import photo_samples as samples

pytestmark = pytest.mark.browser

SIZES = {"laptop": (1024, 768), "phone": (390, 844)}


@pytest.fixture(scope="module")
def with_photos(live_site: LiveSite) -> dict[str, int]:
    with live_site.db():
        mosque = db.session.get(Building, live_site.buildings["mosque"].id)
        partner = db.session.get(User, live_site.users["partner"].id)
        first = mosque.published_version.shown_pages[0]
        shutoff = Marker(building_id=mosque.id, page_id=first.id, kind="gas_shutoff", x=0.32, y=0.72,
                         label="Gas meter", note="Turn a quarter with the wrench on the hook.")
        db.session.add(shutoff)
        db.session.flush()
        photos.add(partner, mosque, io.BytesIO(samples.phone_jpeg(1600, 1200, orientation=6)), subject="marker",
                   marker=shutoff, caption="The meter, west wall")
        photos.add(partner, mosque, io.BytesIO(samples.phone_jpeg(1600, 1000, orientation=1)), subject="front",
                   caption="From Main Street")
        photos.add(partner, mosque, io.BytesIO(samples.phone_png(400, 300, orientation=1)), subject="entrance",
                   caption="Door 2, east side: ramp")
        db.session.commit()
        return {"mosque": mosque.id, "shutoff": shutoff.id}


def open_page(chromium: Any, site: LiveSite, url: str, size: tuple[int, int], night: bool,
              errors: list[str]) -> tuple[Any, Any]:
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]}, has_touch=True, locale="en-CA")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    sign_in(page, site, site.users["officer"], url)
    page.wait_for_url(f"**{url}")
    if night:
        page.click("[data-night-toggle]")
        assert page.evaluate("document.documentElement.classList.contains('night')")
    return context, page


def box(page: Any, selector: str) -> dict[str, float]:
    found: dict[str, float] = page.locator(selector).bounding_box()
    return found


def text_box(page: Any, selector: str) -> dict[str, float]:
    """Where a block's text is drawn (its box spans the line; the text wraps around a float)."""
    found: dict[str, float] = page.evaluate("""(selector) => {
        const range = document.createRange();
        range.selectNodeContents(document.querySelector(selector));
        const r = range.getBoundingClientRect();
        return {x: r.left, y: r.top, width: r.width, height: r.height};
    }""", selector)
    return found


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"]) > 0.5
            and min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"]) > 0.5)


@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_a_tap_on_a_marker_shows_its_photo(live_site, with_photos, chromium, size: str, night: bool) -> None:
    errors: list[str] = []
    url = f"/r/buildings/{with_photos['mosque']}/plan"
    context, page = open_page(chromium, live_site, url, SIZES[size], night, errors)
    try:
        page.wait_for_selector("[data-plan][data-ready='0']")
        marker = page.locator(f".plan-marker[data-marker-id='{with_photos['shutoff']}']")
        marker.wait_for()
        settle(page)
        marker.locator(".marker-icon").tap()
        panel = page.locator("[data-marker-info]:not([hidden])")
        panel.wait_for()
        photo = panel.locator(".marker-info-photo img")
        photo.wait_for()
        page.wait_for_function("() => document.querySelector('.marker-info-photo img').naturalWidth > 0")
        settle(page)
        natural = page.evaluate("(() => { const i = document.querySelector('.marker-info-photo img');"
                                " return [i.naturalWidth, i.naturalHeight]; })()")
        assert natural == [240, 320]  # the small size, upright (the phone stored it sideways)
        assert "The meter, west wall" in photo.get_attribute("alt")
        assert panel.locator(".marker-info-photo").get_attribute("href").endswith("/1280.webp")
        seen = page.evaluate(MEASURE)
        assert seen["problems"] == [], seen["problems"]  # no grid reference covered
        icon = box(page, f".plan-marker[data-marker-id='{with_photos['shutoff']}'] .marker-icon")
        assert not overlap(box(page, "[data-marker-info]:not([hidden])"), icon)  # nor the marker tapped
        screenshot(page, f"photos-tap-{size}-{'night' if night else 'day'}")
    finally:
        context.close()
    assert errors == []


@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_the_card_shows_the_front(live_site, with_photos, chromium, size: str, night: bool) -> None:
    errors: list[str] = []
    url = f"/r/buildings/{with_photos['mosque']}"
    context, page = open_page(chromium, live_site, url, SIZES[size], night, errors)
    try:
        page.wait_for_function("() => { const i = document.querySelector('[data-card-photo] img');"
                               " return i && i.complete && i.naturalWidth > 0; }")
        picture = box(page, "[data-card-photo] img")
        assert picture["height"] <= 84.5
        entrance = page.locator("[data-entrance-photos] img")
        assert entrance.count() == 1 and "Door 2, east side" in entrance.get_attribute("alt")
        page.wait_for_function("() => document.querySelector('[data-entrance-photos] img').naturalWidth > 0")
        assert entrance.bounding_box()["height"] <= 56.5
        for text in (".card-head h1", ".card-head .address"):
            assert not overlap(picture, text_box(page, text)), text
        if size == "laptop":  # the essentials still fit the laptop's screen
            assert box(page, ".call")["y"] < SIZES[size][1]
        screenshot(page, f"photos-card-{size}-{'night' if night else 'day'}")
    finally:
        context.close()
    assert errors == []


def test_photos_are_kept_offline_with_the_building(live_site, with_photos, car) -> None:
    """The Find page says how much keeping takes before the officer presses the button; kept,
    the card's front photo and the gas shut-off's photo show without a network."""
    errors: list[str] = []
    page = car.new_page()
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    sign_in(page, live_site, live_site.users["officer"], "/r/?q=masjid")
    page.wait_for_url("**/r/?q=masjid")
    size = page.locator("[data-keep-offline-size]").inner_text()
    assert "MB on this computer" in size or "kB on this computer" in size, size
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.click("[data-keep-offline-start]")
    page.wait_for_selector("[data-keep-offline][data-state]")
    status = page.locator(".keep-offline-status").inner_text()
    assert page.get_attribute("[data-keep-offline]", "data-state") == "done", status
    kept = page.evaluate("""async () => {
        const cache = await caches.open('floorplans-tiles');
        return (await cache.keys()).map(r => new URL(r.url).pathname).filter(p => p.startsWith('/r/photos/'));
    }""")
    assert len(kept) == 6, kept  # three photos, two sizes each

    served: list[tuple[str, bool]] = []
    page.on("response", lambda response: served.append((response.url, response.from_service_worker))
            if "/r/photos/" in response.url else None)
    car.set_offline(True)
    try:
        page.goto(live_site.url + f"/r/buildings/{with_photos['mosque']}")
        page.wait_for_function("() => { const i = document.querySelector('[data-card-photo] img');"
                               " return i && i.complete && i.naturalWidth > 0; }")
        page.goto(live_site.url + f"/r/buildings/{with_photos['mosque']}/plan")
        page.wait_for_selector("[data-plan][data-ready='0']")
        marker = page.locator(f".plan-marker[data-marker-id='{with_photos['shutoff']}']")
        marker.wait_for()
        settle(page)
        marker.locator(".marker-icon").click()
        page.wait_for_function("() => { const i = document.querySelector('.marker-info-photo img');"
                               " return i && i.complete && i.naturalWidth > 0; }")
        screenshot(page, "photos-offline-tap")
    finally:
        car.set_offline(False)
    # From what the service worker kept (the browser's own cache may drop them at any time).
    assert len(served) >= 2 and all(from_worker for _, from_worker in served), served
    assert errors == []


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_the_partner_sees_and_reaches_the_photos(live_site, with_photos, chromium, size: str) -> None:
    """The Photos tab shows thumbnails (never the 1280 px picture), and the marker editor's
    form for the shut-off shows its photo and links to where it is changed."""
    errors: list[str] = []
    context = chromium.new_context(viewport={"width": SIZES[size][0], "height": SIZES[size][1]})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    try:
        photos_url = f"/portal/buildings/{with_photos['mosque']}/photos"
        sign_in(page, live_site, live_site.users["partner"], photos_url)
        page.wait_for_url(f"**{photos_url}")
        page.wait_for_function("() => [...document.querySelectorAll('img.photo-thumb')].every(i => i.complete"
                               " && i.naturalWidth > 0)")
        thumbs = page.locator("img.photo-thumb")
        assert thumbs.count() == 3
        for index in range(thumbs.count()):
            shown = thumbs.nth(index).bounding_box()
            assert shown["width"] <= 160.5 and shown["height"] <= 160.5
        assert page.locator("#marker-" + str(with_photos["shutoff"])).count() == 1
        screenshot(page, f"photos-portal-{size}")
        if size == "laptop":  # the editor is a desk tool
            with live_site.db():
                version_id = db.session.get(Building, with_photos["mosque"]).published_version_id
            page.goto(live_site.url + f"/portal/buildings/{with_photos['mosque']}/plans/{version_id}/markers")
            page.wait_for_selector("[data-plan][data-ready='0']")
            marker = page.locator(f".plan-marker[data-marker-id='{with_photos['shutoff']}']")
            marker.wait_for()
            settle(page)
            marker.locator(".marker-icon").click()
            link = page.locator("[data-marker-photo-link]")
            link.wait_for()
            assert link.inner_text() == "Change or remove its photo"
            assert link.get_attribute("href").endswith(f"#marker-{with_photos['shutoff']}")
            page.wait_for_function("() => document.querySelector('[data-marker-photo-image]').naturalWidth > 0")
            screenshot(page, "photos-marker-editor")
    finally:
        context.close()
    assert errors == []
