"""Offline copies end with access, in a real headless Chromium: when the service worker learns
from the server that the session is gone (an administrator disabled the account), it deletes
every card, plan and tile the car kept, and the page shows the sign-in; a copy older than
OFFLINE_MAX_DAYS (7) is deleted unopened, when asked for and when the worker starts."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from floorplans.db import db
from floorplans.models import Role, User
from floorplans.services import accounts
from tests.blueprints.response.conftest import LiveSite, sign_in
from tests.blueprints.response.test_in_car_browser import (
    PAGE_ERRORS,
    visible_tiles,
    wait_for_floor,
    wait_for_service_worker,
    watch,
)

pytestmark = pytest.mark.browser

PRIVATE_NUMBER = "416-555-0177"  # the mosque's caretaker, on its card
KEPT = """async () => {
    const kept = {};
    for (const name of await caches.keys()) kept[name] = (await (await caches.open(name)).keys()).map(r => r.url);
    return kept;
}"""
AGE = """async ([name, url, days]) => {
    const cache = await caches.open(name);
    const hit = await cache.match(url);
    if (!hit) return false;
    const headers = new Headers(hit.headers);
    headers.set('X-Saved-At', new Date(Date.now() - days * 24 * 3600 * 1000).toISOString());
    await cache.put(url, new Response(await hit.blob(), {status: hit.status, headers}));
    return true;
}"""


def new_officer(site: LiveSite, password_hash: str) -> User:
    with site.db():
        user = User(email=f"car-{uuid.uuid4().hex[:8]}@example.org", role=Role.OFFICER.value,
                    password_hash=password_hash)
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def disable(site: LiveSite, user: User) -> None:
    """What an administrator does on the account's page."""
    with site.db():
        account = db.session.get(User, user.id)
        accounts.update_user(account, role=account.role, organisation=None, active=False, name=account.name or "")
        db.session.commit()


def kept(page: Any, name: str) -> list[str]:
    return page.evaluate(KEPT).get(name, [])


def wait_until(predicate: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def keep_toronto_offline(page: Any, site: LiveSite, officer: User) -> None:
    sign_in(page, site, officer, "/r/?q=toronto")
    page.wait_for_url("**/r/?q=toronto")
    wait_for_service_worker(page)
    page.click("[data-keep-offline-start]")
    page.wait_for_selector("[data-keep-offline][data-state]")
    assert page.get_attribute("[data-keep-offline]", "data-state") == "done", page.locator(
        ".keep-offline-status").inner_text()


def test_a_disabled_account_leaves_nothing_readable_in_the_car(live_site: LiveSite, car: Any,
                                                               password_hash: str) -> None:
    PAGE_ERRORS.clear()
    officer = new_officer(live_site, password_hash)
    mosque = live_site.buildings["mosque"]
    card = live_site.url + f"/r/buildings/{mosque.id}"
    page = watch(car.new_page())
    keep_toronto_offline(page, live_site, officer)
    assert card in kept(page, "floorplans-pages") and len(kept(page, "floorplans-tiles")) > 10
    car.set_offline(True)
    page.goto(card)
    assert PRIVATE_NUMBER in page.content()  # kept: readable without a network, as it should be
    car.set_offline(False)

    # An administrator disables the account.  The car's next request in the in-car view (from
    # a page outside it, so that only the worker can react) meets the sign-in page...
    page.goto(live_site.url + "/account/password")
    disable(live_site, officer)
    page.goto(card)
    assert "/login?next=" in page.url
    # ... and the worker deleted every card, plan and tile it kept (the app shell may stay).
    wait_until(lambda: not kept(page, "floorplans-pages") and not kept(page, "floorplans-tiles"))
    assert all(name.startswith("floorplans-shell-") for name, urls in page.evaluate(KEPT).items() if urls)

    car.set_offline(True)
    page.goto(card)
    content = page.content()
    assert PRIVATE_NUMBER not in content and mosque.name not in content
    assert "this page was not saved on this device" in content
    car.set_offline(False)
    assert PAGE_ERRORS == []


def test_the_open_page_shows_the_sign_in_when_a_tile_meets_a_dead_session(live_site: LiveSite, car: Any,
                                                                          password_hash: str) -> None:
    officer = new_officer(live_site, password_hash)
    mosque = live_site.buildings["mosque"]
    page = watch(car.new_page())
    sign_in(page, live_site, officer, f"/r/buildings/{mosque.id}/plan")
    page.wait_for_url(f"**/r/buildings/{mosque.id}/plan")
    wait_for_service_worker(page)
    page.reload()  # now through the worker, which keeps the page and its tiles
    wait_for_floor(page, 0)
    assert visible_tiles(page) and kept(page, "floorplans-tiles")

    disable(live_site, officer)
    # Past the tile gate's few seconds (TILE_SESSION_RECHECK_SECONDS), every tile GET is checked in full.
    time.sleep(live_site.app.config["TILE_SESSION_RECHECK_SECONDS"] + 1)
    box = page.locator("[data-plan]").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)  # zoom in: tiles never fetched before
    page.wait_for_url(f"**/login?next=%2Fr%2Fbuildings%2F{mosque.id}%2Fplan", timeout=20_000)
    wait_until(lambda: not kept(page, "floorplans-pages") and not kept(page, "floorplans-tiles"))


def test_copies_older_than_the_limit_are_deleted_unopened(live_site: LiveSite, car: Any, password_hash: str) -> None:
    PAGE_ERRORS.clear()
    assert live_site.app.config["OFFLINE_MAX_DAYS"] == 7
    mosque, chapel = live_site.buildings["mosque"], live_site.buildings["chapel"]
    page = watch(car.new_page())
    keep_toronto_offline(page, live_site, new_officer(live_site, password_hash))
    mosque_card, chapel_card = (live_site.url + f"/r/buildings/{b.id}" for b in (mosque, chapel))
    assert page.evaluate(AGE, ["floorplans-pages", mosque_card, 8])
    assert page.evaluate(AGE, ["floorplans-pages", chapel_card, 6])

    # Asked for: the 8-day-old card is deleted, not shown; the 6-day-old one still opens.
    car.set_offline(True)
    page.goto(mosque_card)
    assert PRIVATE_NUMBER not in page.content() and "not saved on this device" in page.content()
    assert mosque_card not in kept(page, "floorplans-pages")
    page.goto(chapel_card)
    assert page.locator("[data-card] h1").inner_text() == chapel.name
    assert page.locator("[data-saved-copy]").is_visible()
    car.set_offline(False)

    # Never asked for: a tile grown too old goes when the worker next starts.
    tiles = kept(page, "floorplans-tiles")
    old_tile = tiles[0]
    assert page.evaluate(AGE, ["floorplans-tiles", old_tile, 7.5])
    devtools = car.new_cdp_session(page)
    devtools.send("ServiceWorker.enable")
    devtools.send("ServiceWorker.stopAllWorkers")
    page.goto(live_site.url + "/r/")  # starts the worker again
    wait_until(lambda: old_tile not in kept(page, "floorplans-tiles"))
    assert set(kept(page, "floorplans-tiles")) == set(tiles) - {old_tile}
    assert PAGE_ERRORS == []
