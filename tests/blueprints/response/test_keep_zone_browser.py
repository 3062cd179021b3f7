"""Keeping a patrol zone offline (issue 19) in a real headless Chromium against the app on a
real loopback server: "Keep my area offline" counted and sized before it starts, a run that
carries on after the Find page is reloaded half-way, the laptop's free room checked first
(a full disk simulated by replacing navigator.storage.estimate in the page, as a test hook
the app never reads otherwise), and the tiles of a superseded plan version deleted only once
the new version is kept.  Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from floorplans.db import db
from floorplans.models import Building, User
from tests.blueprints.response.conftest import LiveSite, _upload, screenshot, sign_in
from tests.blueprints.response.test_in_car_browser import PAGE_ERRORS, wait_for_service_worker, watch

pytestmark = pytest.mark.browser

KEPT_TILES = "caches.open('floorplans-tiles').then(c => c.keys()).then(keys => keys.map(r => r.url))"
KEPT_PLAN_VERSION = """url => caches.open('floorplans-pages').then(c => c.match(location.origin + url))
    .then(r => r ? r.text() : '')
    .then(html => (html.match(/<meta name="plan-version" content="([^"]+)">/) || [])[1] || null)"""
TILE_VERSION = re.compile(r"/r/tiles/([^/]+)/")


class TileWire:
    """Between the server and the app: counts tile requests, slows them down (so a run can be
    caught half-way) and can refuse a version's tiles (a network that drops them)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.delay = 0.0
        self.refused: str | None = None
        self.requests = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/r/tiles/"):
            with self.lock:
                self.requests += 1
            time.sleep(self.delay)
            if self.refused and path.startswith(f"/r/tiles/{self.refused}/"):
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"refused by the test"]
        return self.app(environ, start_response)


@pytest.fixture
def wire(live_site: LiveSite) -> Iterator[TileWire]:
    original = live_site.app.wsgi_app
    tap = TileWire(original)
    live_site.app.wsgi_app = tap  # type: ignore[method-assign]
    try:
        yield tap
    finally:
        live_site.app.wsgi_app = original  # type: ignore[method-assign]


def pack(page: Any, url: str) -> dict[str, Any]:
    return page.evaluate("url => fetch(url, {headers: {Accept: 'application/json'}}).then(r => r.json())", url)


def tiles_of(pack_json: dict[str, Any]) -> int:
    return sum(p["tiles"] for b in pack_json["buildings"] for p in b["plan_pages"])


def kept_versions(page: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for url in page.evaluate(KEPT_TILES):
        found = TILE_VERSION.search(url)
        if found:
            counts[found.group(1)] = counts.get(found.group(1), 0) + 1
    return counts


def wait_for_state(page: Any, state: str) -> str:
    page.wait_for_selector(f"[data-keep-offline][data-state='{state}']", timeout=60_000)
    return str(page.locator(".keep-offline-status").inner_text())


def test_my_area_is_counted_then_kept_and_a_reload_carries_on(live_site: LiveSite, car: Any, wire: TileWire) -> None:
    PAGE_ERRORS.clear()
    page = watch(car.new_page())
    sign_in(page, live_site, live_site.users["officer"], "/r/")
    page.wait_for_url("**/r/")
    wait_for_service_worker(page)

    # The car is 100 m from the mosque; the youth centre is 1.6 km north.
    page.click("[data-keep-zone] summary")
    page.select_option("[data-keep-zone-km]", "1")
    page.click("[data-keep-zone-count]")
    page.wait_for_selector("[data-keep-zone-start]:visible")
    summary = page.locator("[data-keep-zone-summary]").inner_text()
    assert re.fullmatch(
        r"1 building within 1 km of this car: about \d+\.\d MB on this computer \([\d,]+ files\)\.", summary), summary
    assert page.locator("[data-keep-zone-start]").inner_text() == "Keep this building offline"
    page.select_option("[data-keep-zone-km]", "5")  # a new distance: counted again before keeping
    assert page.locator("[data-keep-zone-start]").is_hidden()
    page.click("[data-keep-zone-count]")
    page.wait_for_selector("[data-keep-zone-start]:visible")
    zone = pack(page, "/r/offline/pack?lat=43.6450&lon=-79.3960&km=5")
    assert [b["name"] for b in zone["buildings"]] == ["Masjid Al-Noor", "Al-Noor Youth Centre"]
    summary = page.locator("[data-keep-zone-summary]").inner_text()
    assert summary.startswith(f"2 buildings within 5 km of this car: about {zone['bytes'] / 1e6:.1f} MB"), summary
    assert f"({zone['files']:,} files)" in summary
    assert wire.requests == 0  # counting fetched nothing
    screenshot(page, "keep-zone-counted")

    # Slow tiles: the reload comes while most are still to fetch.
    wire.delay = 0.03
    total = zone["files"]
    page.click("[data-keep-zone-start]")
    page.wait_for_function(f"() => document.querySelector('[data-keep-offline] progress').value >= {total // 4}")
    page.wait_for_timeout(1200)  # the run writes down how far it got once a second
    page.reload()
    # The bar is back where it was, and the run carries on by itself.
    page.wait_for_selector("[data-keep-offline] progress:visible")
    at = page.evaluate("document.querySelector('[data-keep-offline] progress').value")
    assert total // 4 <= at < total, at
    assert page.evaluate("document.querySelector('[data-keep-offline] progress').max") == total
    screenshot(page, "keep-zone-resumed")
    status = wait_for_state(page, "done")
    assert status.startswith("Done: 2 buildings kept offline"), status

    # Everything is kept; what was kept before the reload was not fetched again.
    tiles = tiles_of(zone)
    assert sum(kept_versions(page).values()) == tiles
    assert tiles <= wire.requests <= tiles + 4, (wire.requests, tiles)  # at most the 4 in flight at the reload
    assert page.evaluate("caches.has('floorplans-keeping')") is False  # the run's list is gone once done
    assert PAGE_ERRORS == []


STORAGE_FREE = """free => Object.defineProperty(StorageManager.prototype, 'estimate', {
  value: () => Promise.resolve({quota: 500e6 + free, usage: 500e6}), configurable: true})"""


def test_a_laptop_short_of_room_is_told_before_anything_is_kept(live_site: LiveSite, car: Any, wire: TileWire) -> None:
    PAGE_ERRORS.clear()
    page = watch(car.new_page())
    sign_in(page, live_site, live_site.users["officer"], "/r/?q=toronto")
    page.wait_for_url("**/r/?q=toronto")
    wait_for_service_worker(page)
    url = page.get_attribute("[data-keep-offline-start]", "data-pack-url")
    found = pack(page, url)
    first, both = found["buildings"][0], found["bytes"]
    # Room for the first building with the margin, not for both.
    free = int(first["bytes"] * 1.2) + 1000
    assert free < both * 1.2
    page.add_init_script(script=f"({STORAGE_FREE})({free})")
    page.reload()

    page.click("[data-keep-offline-start]")
    status = wait_for_state(page, "short")
    assert status == (f"This computer has about {free / 1e6:.1f} MB free for offline plans; these need about "
                      f"{both * 1.2 / 1e6:.1f} MB. Keep fewer buildings or free space."), status
    assert wire.requests == 0 and page.evaluate(KEPT_TILES) == []
    assert page.evaluate("caches.has('floorplans-keeping')") is False
    fit = page.locator("[data-keep-offline-fit]")
    assert fit.inner_text() == "Keep only the first building (it fits)"
    screenshot(page, "keep-zone-short")

    fit.click()
    status = wait_for_state(page, "done")
    assert status.startswith("Done: 1 building kept offline"), status
    assert sum(kept_versions(page).values()) == sum(p["tiles"] for p in first["plan_pages"])
    assert PAGE_ERRORS == []


def test_a_superseded_version_is_evicted_once_the_new_one_is_kept(
        live_site: LiveSite, car: Any, wire: TileWire) -> None:
    PAGE_ERRORS.clear()
    chapel, partner = live_site.buildings["chapel"], live_site.users["partner"]
    plan_url = f"/r/buildings/{chapel.id}/plan"
    page = watch(car.new_page())
    sign_in(page, live_site, live_site.users["officer"], "/r/?q=youth")
    page.wait_for_url("**/r/?q=youth")
    wait_for_service_worker(page)

    def keep(state: str) -> str:
        page.goto(live_site.url + "/r/?q=youth")
        page.click("[data-keep-offline-start]")
        return wait_for_state(page, state)

    def publish_new_plan() -> str:
        with live_site.db():
            building, by = db.session.get(Building, chapel.id), db.session.get(User, partner.id)
            assert building is not None and by is not None
            _upload(building, "plan-auditorium-event-layout-letter-mixed.pdf", by, ["Hall"])
            db.session.refresh(building)
            assert building.published_version is not None
            return str(building.published_version.key)

    keep("done")
    first = page.evaluate(KEPT_PLAN_VERSION, plan_url)
    assert first and kept_versions(page).keys() == {first}

    # A new version is published; keeping the chapel again meets a network that drops its tiles.
    second = publish_new_plan()
    wire.refused = second
    status = keep("partial")
    assert "could not be fetched" in status, status
    # The officer offline still has the whole old plan: its page and every one of its tiles.
    assert page.evaluate(KEPT_PLAN_VERSION, plan_url) == first
    assert kept_versions(page)[first] > 0

    # With the new tiles kept, the page switches to the new version and the old tiles go.
    wire.refused = None
    keep("done")
    assert page.evaluate(KEPT_PLAN_VERSION, plan_url) == second
    versions = kept_versions(page)
    assert first not in versions and versions[second] > 0, versions

    # Browsing online: the service worker keeps the newer plan page it is given, and deletes
    # the version it supersedes (the new tiles come from the network as the officer looks).
    third = publish_new_plan()
    page.goto(live_site.url + plan_url)
    page.wait_for_selector("[data-plan][data-ready='0']")
    deadline = time.monotonic() + 10  # the worker keeps the page after answering it
    while second in kept_versions(page) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    versions = kept_versions(page)
    assert second not in versions and third in versions, versions
    assert page.evaluate(KEPT_PLAN_VERSION, plan_url) == third
    assert PAGE_ERRORS == []
