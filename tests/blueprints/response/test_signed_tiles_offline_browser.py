"""Offline in the car with signed tile URLs (TILE_URL_SECRET set): a real nginx in front of the
app serves the signed tiles itself (secure_link) and proxies everything else, as
docs/operations.md deploys it; a real headless Chromium keeps what the officer opened and
what "keep offline" fetched, under the app's own tile URLs, so a newer signature still finds
every tile and nothing is stored twice."""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floorplans import tile_links
from floorplans.config import apply_settings
from tests.blueprints.response.conftest import LiveSite, sign_in
from tests.blueprints.response.test_in_car_browser import visible_tiles, wait_for_floor, wait_for_service_worker, watch
from tests.test_tile_front import NGINX, _free_port, nginx_conf

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not NGINX.exists(), reason="nginx is not installed (make test installs it)")]

SECRET = "browser-tile-secret-0123456789abcdef"
TILE_KEYS = "caches.open('floorplans-tiles').then(c => c.keys()).then(keys => keys.map(r => r.url))"


@pytest.fixture
def front(live_site: LiveSite, tmp_path: Path) -> Iterator[LiveSite]:
    """nginx on its own port: signed tiles from the storage folder, the rest proxied to the app."""
    port, app_port = _free_port(), int(live_site.url.rsplit(":", 1)[1])
    locations = tile_links.nginx_locations(secret=SECRET, storage_root=live_site.app.config["STORAGE_URL"]) + f"""
    location / {{
        proxy_pass http://127.0.0.1:{app_port};
        proxy_set_header Host $http_host;
    }}"""
    folder = tmp_path / "nginx"
    conf = nginx_conf(folder, port, locations)
    process = subprocess.Popen([str(NGINX), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    before = dict(live_site.app.config)
    live_site.app.config.update(TILE_URL_SECRET=SECRET, TILE_URL_BASE="/t", TILE_URL_LIFETIME_SECONDS=3600)
    apply_settings(live_site.app)  # the running site reads its settings again
    try:
        deadline = time.monotonic() + 10
        while not (folder / "nginx.pid").exists():
            assert process.poll() is None and time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)
        yield dataclasses.replace(live_site, url=f"http://127.0.0.1:{port}")
    finally:
        live_site.app.config.update({key: before.get(key) for key in ("TILE_URL_SECRET", "TILE_URL_BASE",
                                                                      "TILE_URL_LIFETIME_SECONDS")})
        apply_settings(live_site.app)
        process.terminate()
        process.wait(10)


def _no_tile_failed(page: Any) -> bool:
    return page.locator(".plan-status").count() == 0 or not page.locator(".plan-status").is_visible()


def test_signed_tiles_are_kept_offline_whatever_their_signature(front: LiveSite, car: Any) -> None:
    mosque, chapel = front.buildings["mosque"], front.buildings["chapel"]
    page = watch(car.new_page())
    sign_in(page, front, front.users["officer"], f"/r/buildings/{mosque.id}")
    page.wait_for_url(f"**/r/buildings/{mosque.id}")
    wait_for_service_worker(page)

    # The plan's tiles come signed from nginx; the worker keeps them under /r/tiles/ URLs.
    page.click("[data-plan-link]")
    wait_for_floor(page, 0)
    first = visible_tiles(page)
    assert first and all("/t/" in src for src in first), first
    kept = page.evaluate(TILE_KEYS)
    assert kept and all("/r/tiles/" in url for url in kept), kept

    # The app now signs with a secret nginx does not know: any tile fetched from the network
    # would be refused (403), yet the plan shows, every tile from what the worker kept.
    front.app.config["TILE_URL_SECRET"] = SECRET + "-rotated"
    apply_settings(front.app)
    page.reload()
    wait_for_floor(page, 0)
    again = visible_tiles(page)
    assert again and not set(again) & set(first) and _no_tile_failed(page)

    # "Keep offline" with URLs signed for a later expiry: each tile stored once, under its key.
    front.app.config.update(TILE_URL_SECRET=SECRET, TILE_URL_LIFETIME_SECONDS=7200)
    apply_settings(front.app)
    page.goto(front.url + "/r/?q=toronto")
    page.click("[data-keep-offline-start]")
    page.wait_for_selector("[data-keep-offline][data-state]")
    assert page.get_attribute("[data-keep-offline]", "data-state") == "done", page.locator(
        ".keep-offline-status").inner_text()
    kept = page.evaluate(TILE_KEYS)
    assert all("/r/tiles/" in url for url in kept) and len(kept) == len(set(kept)) > len(first), kept

    # No network: the chapel, never opened, shows its plan from what was kept, and zooming in
    # past the kept levels draws from them (blurred, never blank).
    car.set_offline(True)
    page.goto(front.url + f"/r/buildings/{chapel.id}")
    page.click("[data-plan-link]")
    wait_for_floor(page, 0)
    assert visible_tiles(page) and all("/t/" in src for src in visible_tiles(page)) and _no_tile_failed(page)
    page.evaluate("() => { delete document.querySelector('[data-plan]').dataset.readyAt; }")
    box = page.locator("[data-plan]").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(3):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(250)
    page.wait_for_selector("[data-plan][data-ready-at]")
    assert visible_tiles(page) and _no_tile_failed(page)
    car.set_offline(False)
