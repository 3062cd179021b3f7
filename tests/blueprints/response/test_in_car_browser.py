"""The in-car view in a real headless Chromium against the app on a real loopback server:
the officer's journey from a CAD link to the plan, night mode, then the network cut.
Screenshots go to test-artifacts/ (git-ignored) for a person to look at."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from floorplans.db import db
from floorplans.models import AccessEvent
from tests.blueprints.response.conftest import LiveSite, screenshot, sign_in

pytestmark = pytest.mark.browser

PAGE_ERRORS: list[str] = []


def watch(page: Any) -> Any:
    """Fail on any script error or CSP violation the page reports."""
    page.on("pageerror", lambda error: PAGE_ERRORS.append(f"{page.url}: {error}"))
    page.on("console", lambda message: PAGE_ERRORS.append(f"{page.url}: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text else None)
    return page


def wait_for_floor(page: Any, index: int) -> None:
    """plan.js marks the viewer ready when every tile on screen has loaded."""
    page.wait_for_selector(f"[data-plan][data-ready='{index}']")


def visible_tiles(page: Any) -> list[str]:
    return page.eval_on_selector_all(".leaflet-tile-loaded", "tiles => tiles.map(t => t.src)")


def tile_page(src: str) -> int:
    """The PDF page number in a tile's URL: /r/tiles/<version>/<page>/<z>/<x>/<y>.webp."""
    return int(src.split("/tiles/")[1].split("/")[1])


def tile_zoom(src: str) -> int:
    return int(src.split("/tiles/")[1].split("/")[2])


def wait_for_service_worker(page: Any) -> None:
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def test_officer_from_cad_link_to_plan_then_offline(live_site: LiveSite, car: Any) -> None:
    PAGE_ERRORS.clear()
    mosque = live_site.buildings["mosque"]
    officer = live_site.users["officer"]
    page = watch(car.new_page())

    # A CAD link, signed out: sign in, and the link opens the one building at that address.
    sign_in(page, live_site, officer, "/r/lookup?address=123+MAIN+ST,+TORONTO,+ON+M5V+2T6")
    page.wait_for_url(f"**/r/buildings/{mosque.id}")
    card = page.locator("[data-card]")
    assert card.locator("h1").inner_text() == "Masjid Al-Noor"
    now = page.locator("[data-now]").inner_text()
    assert re.search(r"NOW\s+Friday prayers until \d\d:\d\d, ~400 expected, children's area in use", now), now
    contacts = page.locator(".contact .who").all_inner_texts()
    assert contacts == ["Yusuf Rahman", "Office"]  # reachable now first
    assert page.locator(".contact").first.locator(".badge.keys").inner_text() == "KEYS"
    assert page.locator(".contact a.tel").first.get_attribute("href") == "tel:4165550177"
    assert "Oxygen cylinders" in page.locator(".fact.hazard").inner_text()
    assert page.locator(".stale").count() == 0
    # One screen at 1024x768: the essentials end above the fold.
    assert page.evaluate("document.querySelector('.fact.hazard').getBoundingClientRect().bottom") <= 768
    assert page.evaluate("document.querySelector('.contacts').getBoundingClientRect().bottom") <= 768
    wait_for_service_worker(page)
    screenshot(page, "card-day")

    # The plan: first floor in the partner's order, grid on, tiles painted.
    page.click("[data-plan-link]")
    wait_for_floor(page, 0)
    floors = page.locator("[data-floor]").all_inner_texts()
    assert floors == ["Basement", "First floor", "Second floor", "Third floor", "Fourth floor"]
    assert visible_tiles(page) and all(tile_page(src) == 5 for src in visible_tiles(page))
    columns = page.locator(".grid-label.column").all_inner_texts()
    rows = page.locator(".grid-label.row").all_inner_texts()
    assert columns[:3] == ["A", "B", "C"] and rows[:2] == ["1", "2"]
    screenshot(page, "plan-day")

    # Zooming in keeps the grid's names on the same squares: C stays C.
    box = page.locator("[data-plan]").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(600)
    assert set(page.locator(".grid-label.column").all_inner_texts()) <= set(columns)
    page.click("[data-fit]")

    # Switch floors.
    page.click("[data-floor='1']")
    wait_for_floor(page, 1)
    assert page.locator("[data-floor='1']").get_attribute("aria-pressed") == "true"
    assert visible_tiles(page) and all(tile_page(src) == 1 for src in visible_tiles(page))
    assert page.url.endswith("#floor=2")

    # Grid off and on again.
    page.click("[data-grid-toggle]")
    assert page.locator(".grid-label").count() == 0
    page.click("[data-grid-toggle]")
    assert page.locator(".grid-label").count() > 0

    # Night mode: one tap, the plan's tiles inverted, remembered on the next page.
    page.click("[data-night-toggle]")
    assert page.evaluate("document.documentElement.classList.contains('night')")
    assert "invert(1)" in page.evaluate("getComputedStyle(document.querySelector('.leaflet-tile-pane')).filter")
    screenshot(page, "plan-night")
    page.goto(live_site.url + f"/r/buildings/{mosque.id}")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(0, 0, 0)"
    screenshot(page, "card-night")

    # Cut the network: the card and the plan still show, and say how old they are.
    car.set_offline(True)
    page.reload()
    assert page.locator("[data-card] h1").inner_text() == "Masjid Al-Noor"
    notice = page.locator("[data-saved-copy]")
    assert notice.is_visible() and "No connection: saved copy from" in notice.inner_text()
    page.click("[data-plan-link]")
    wait_for_floor(page, 0)
    assert page.evaluate("document.body.dataset.copy") == "saved"
    page.click("[data-floor='1']")
    wait_for_floor(page, 1)
    assert visible_tiles(page)
    # Every tile on screen came from what was saved: none failed to load.
    assert page.locator(".plan-status").count() == 0 or not page.locator(".plan-status").is_visible()
    # Zoomed in past anything fetched before, the offline plan is drawn from the lower levels
    # kept (blurred, never blank): full-zoom tiles load although none was ever downloaded.
    page.evaluate("() => { delete document.querySelector('[data-plan]').dataset.readyAt; }")
    box = page.locator("[data-plan]").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(3):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(250)
    page.wait_for_selector("[data-plan][data-ready-at]")
    zooms = {tile_zoom(src) for src in visible_tiles(page)}
    assert zooms and max(zooms) == 3, zooms  # this floor's full zoom (1250 x 1666 px at the test budget)
    assert page.locator(".plan-status").count() == 0 or not page.locator(".plan-status").is_visible()
    screenshot(page, "plan-offline-night")
    car.set_offline(False)
    assert PAGE_ERRORS == []

    with live_site.db():
        actions = db.session.scalars(
            select(AccessEvent.action).where(AccessEvent.user_id == officer.id, AccessEvent.building_id == mosque.id)
        ).all()
    assert actions.count("view_record") >= 2 and actions.count("view_plan") >= 1


def test_nearest_keep_offline_and_sign_out(live_site: LiveSite, car: Any) -> None:
    PAGE_ERRORS.clear()
    officer = live_site.users["officer"]
    chapel = live_site.buildings["chapel"]
    page = watch(car.new_page())
    sign_in(page, live_site, officer, "/r/")
    page.wait_for_url("**/r/")
    wait_for_service_worker(page)

    # Nearest to me: the browser's location (Playwright's geolocation), distance and direction.
    page.click("[data-nearest]")
    page.wait_for_selector("[data-nearest-results] .results li")
    nearest = page.locator("[data-nearest-results] .results li").all_inner_texts()
    assert nearest[0].startswith("Masjid Al-Noor") and re.search(r"\d+ m NE$", nearest[0]), nearest
    assert "Al-Noor Youth Centre" in nearest[1] and re.search(r"\d\.\d km N", nearest[1]), nearest

    # Keep a search's buildings offline, with visible progress, then open one never viewed.
    page.fill("input[name=q]", "toronto")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("[data-keep-offline-start]")
    assert page.locator("[data-keep-offline-start]").inner_text() == "Keep these 2 buildings offline"
    page.click("[data-keep-offline-start]")
    page.wait_for_selector("[data-keep-offline][data-state]")
    status = page.locator(".keep-offline-status").inner_text()
    assert page.get_attribute("[data-keep-offline]", "data-state") == "done", status
    assert status.startswith("Done: 2 buildings kept offline")
    screenshot(page, "keep-offline")
    with live_site.db():
        kept = db.session.scalars(select(AccessEvent).where(
            AccessEvent.user_id == officer.id, AccessEvent.building_id == chapel.id)).all()
        assert sorted((e.action, e.detail) for e in kept) == [("keep_offline", "plan"), ("keep_offline", "record")]

    car.set_offline(True)
    page.goto(live_site.url + f"/r/buildings/{chapel.id}")
    assert page.locator("[data-card] h1").inner_text() == "Al-Noor Youth Centre"
    assert "May be out of date" in page.locator(".stale").inner_text()
    page.click("[data-plan-link]")
    wait_for_floor(page, 0)
    assert visible_tiles(page)
    car.set_offline(False)

    # Signing out forgets every offline copy and the service worker.
    page.goto(live_site.url + "/r/")
    page.click("form[data-logout] button")
    page.wait_for_url("**/login")
    assert page.evaluate("caches.keys()") == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
    assert PAGE_ERRORS == []


def test_the_next_officer_on_the_laptop_starts_without_the_last_ones_copies(live_site: LiveSite, car: Any) -> None:
    """A shift change without signing out (the session simply ran out): what the first officer
    kept is forgotten when another account opens the in-car view."""
    PAGE_ERRORS.clear()
    mosque = live_site.buildings["mosque"]
    page = watch(car.new_page())
    sign_in(page, live_site, live_site.users["officer"], f"/r/buildings/{mosque.id}")
    page.wait_for_url(f"**/r/buildings/{mosque.id}")
    wait_for_service_worker(page)
    page.reload()  # now through the worker, which keeps a copy
    saved = "() => caches.open('floorplans-pages').then(c => c.match(location.origin + '%s')).then(r => !!r)"
    assert page.evaluate(saved % f"/r/buildings/{mosque.id}")

    car.clear_cookies()
    sign_in(page, live_site, live_site.users["next_shift"], "/r/")
    page.wait_for_url("**/r/")
    wait_for_service_worker(page)
    assert not page.evaluate(saved % f"/r/buildings/{mosque.id}")
    assert page.locator(".recent").count() == 0  # and the find page shows only their own views
    assert PAGE_ERRORS == []


def test_printing_the_packet_says_it_is_being_prepared_until_it_arrives(live_site: LiveSite, car: Any) -> None:
    mosque = live_site.buildings["mosque"]
    page = car.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_site, live_site.users["officer"], f"/r/buildings/{mosque.id}/export")
    # Loaded, not only parsed: the form is there before the deferred incar.js has run, and a
    # click then would send it without the token that ends the wait (a flake under load).
    page.wait_for_url(f"**/r/buildings/{mosque.id}/export", wait_until="load")
    status = page.locator("[data-packet-status]")
    assert not status.is_visible()
    # Every text the status line shows, however quickly the packet comes.
    page.evaluate("""() => {
        window.statusTexts = [];
        const node = document.querySelector('[data-packet-status]');
        new MutationObserver(() => window.statusTexts.push(node.textContent))
            .observe(node, {childList: true, characterData: true, subtree: true});
    }""")
    page.select_option("#paper", "tabloid")
    with page.expect_download() as arrival:
        page.click("[data-packet-button]")
    download = arrival.value
    assert download.suggested_filename == "masjid-al-noor-packet-tabloid.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    page.wait_for_selector("[data-packet-status]:has-text('The packet is downloaded')")
    texts = page.evaluate("window.statusTexts")
    assert texts[0] == "Preparing the packet: the card and 5 floors… A large set can take a minute.", texts
    assert page.locator("[data-packet-button]").is_enabled()  # ready for another paper
    screenshot(page, "export-packet-downloaded")
    with live_site.db():
        printed = db.session.scalars(select(AccessEvent).where(AccessEvent.action == "export.packet")).all()
        assert [(event.building_id, event.user_id) for event in printed] == [(mosque.id, live_site.users["officer"].id)]
    assert errors == []
