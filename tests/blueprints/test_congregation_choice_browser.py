"""The congregation field at a province's size in a real headless Chromium: the
administrator types part of a name, the matches appear as a listbox with their tradition
and cities, the arrow keys and Enter pick one of two congregations of the same name, and
the account is saved with it; Escape closes the list, and a name typed in full without a
choice is found by the server.  axe-core finds nothing serious on the open combobox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from floorplans.db import db
from floorplans.models import Organisation, Role, User
from floorplans.services import congregation_choice
from tests.blueprints.response.conftest import ARTIFACTS
from tests.conftest import PASSWORD, serving

pytestmark = pytest.mark.browser

STRONG = "amber-otter-lantern-97"
FIELD = "#organisation_id"
OPTIONS = "#organisation_id-options [role=option]"


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


@pytest.fixture
def province(monkeypatch: pytest.MonkeyPatch, make_organisation, make_building) -> dict[str, Organisation]:
    """Past the list's size (lowered: five congregations are "many" here), with two of one
    name in two cities."""
    monkeypatch.setattr(congregation_choice, "LISTED_AT_MOST", 3)
    made = {
        "st_marys": make_organisation("St. Mary's", "Catholic"),
        "saint_marys": make_organisation("Saint Mary's", "Coptic Orthodox"),
        "grace": make_organisation("Grace Church", "Anglican"),
        "shalom": make_organisation("Beth Shalom Congregation", "Jewish"),
        "gurdwara": make_organisation("Gurdwara Sahib", "Sikh"),
    }
    make_building(made["st_marys"], city="Oakville")
    make_building(made["saint_marys"], city="Milton")
    return made


@pytest.fixture
def admin_page(chromium: Any, live: str, make_user, province: dict[str, Organisation]) -> Iterator[Any]:
    """A page signed in as an administrator, on the accounts page of the province; no script
    error or refused resource (the CSP) may happen on it."""
    admin = make_user(Role.ADMIN)
    context = chromium.new_context(locale="en-CA", viewport={"width": 1024, "height": 768})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # A refused script or style (the CSP) is a console error; a failed load is a response's
    # (the console also reports the favicon.ico Chromium asks for, which no page's response is).
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    try:
        page.goto(f"{live}/admin/users")
        page.fill("#email", admin.email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live}/admin/users")
        yield page
        assert not problems, problems
    finally:
        context.close()


def _account(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def _state(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => {
      const field = document.querySelector('#organisation_id');
      const list = document.getElementById(field.getAttribute('aria-controls'));
      const active = field.getAttribute('aria-activedescendant');
      return {expanded: field.getAttribute('aria-expanded'), shown: !list.hidden, value: field.value,
              chosen: document.querySelector('input[type=hidden][name=organisation_id]').value,
              active: active ? document.getElementById(active).innerText : null,
              selected: [...list.querySelectorAll('[aria-selected=true]')].map((o) => o.id),
              status: document.querySelector('[data-congregation-status]').textContent};
    }""")


def test_an_administrator_types_picks_with_the_keyboard_and_saves(
    admin_page: Any, live: str, province: dict[str, Organisation]
) -> None:
    page = admin_page
    page.fill("#email", "maryam@example.org")
    page.fill("#name", "Maryam Girgis")
    page.select_option("#role", "partner")
    field = page.locator(FIELD)
    assert field.get_attribute("role") == "combobox" and field.get_attribute("aria-expanded") == "false"
    assert page.locator("label[for=organisation_id]").inner_text().startswith("Congregation")

    field.click()
    page.keyboard.type("mary", delay=40)
    page.wait_for_selector(OPTIONS)
    options = page.locator(OPTIONS)
    assert options.all_inner_texts() == ["Saint Mary's\nCoptic Orthodox; Milton", "St. Mary's\nCatholic; Oakville"]
    assert _state(page)["expanded"] == "true" and _state(page)["active"] is None
    assert "2 congregations found" in _state(page)["status"]

    page.keyboard.press("ArrowDown")
    assert _state(page)["active"].startswith("Saint Mary's")
    page.keyboard.press("ArrowDown")
    assert _state(page)["active"].startswith("St. Mary's")
    page.keyboard.press("ArrowDown")  # past the last: the first again
    assert _state(page)["active"].startswith("Saint Mary's")
    page.keyboard.press("ArrowUp")
    state = _state(page)
    assert state["active"].startswith("St. Mary's") and state["selected"] == ["organisation_id-options-1"]

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "congregation-choice-open.png"))
    page.keyboard.press("Enter")  # a choice, not the form's submission
    state = _state(page)
    assert (state["value"], state["chosen"]) == ("St. Mary's", str(province["st_marys"].id))
    assert state["expanded"] == "false" and not state["shown"]
    assert state["status"] == "Chosen: St. Mary's (Catholic; Oakville)."
    assert page.url == f"{live}/admin/users" and _account("maryam@example.org") is None

    page.fill("#password", STRONG)
    page.click("text=Create account")
    page.wait_for_selector("text=The account maryam@example.org is created")
    created = _account("maryam@example.org")
    assert created is not None and created.organisation_id == province["st_marys"].id


def test_escape_closes_the_list_and_a_name_typed_without_a_choice_is_found(
    admin_page: Any, live: str, make_user, province: dict[str, Organisation]
) -> None:
    partner = make_user(Role.PARTNER, province["shalom"], email="miriam@example.org")
    page = admin_page
    page.goto(f"{live}/admin/users/{partner.id}")
    assert _state(page)["value"] == "Beth Shalom Congregation"  # the account's congregation
    assert _state(page)["chosen"] == str(province["shalom"].id)

    page.fill(FIELD, "")
    page.locator(FIELD).press_sequentially("gra", delay=40)
    page.wait_for_selector(OPTIONS)
    assert _state(page)["chosen"] == ""  # the earlier choice no longer stands
    page.keyboard.press("Escape")
    state = _state(page)
    assert state["expanded"] == "false" and not state["shown"] and state["value"] == "gra"

    page.locator(FIELD).press_sequentially("ce church", delay=20)  # typed in full, never chosen
    page.keyboard.press("Escape")
    page.click("text=Save")
    page.wait_for_url(f"{live}/admin/users")
    moved = _account("miriam@example.org")
    assert moved is not None and moved.organisation_id == province["grace"].id


def test_no_serious_accessibility_violation_with_the_list_open(admin_page: Any, province) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = admin_page
    page.locator(FIELD).press_sequentially("s", delay=40)
    page.wait_for_selector(OPTIONS)
    page.keyboard.press("ArrowDown")
    state = _state(page)
    assert state["shown"] and state["expanded"] == "true" and state["active"].startswith("Saint Mary's")
    violations = Axe().run(page).response["violations"]
    serious = [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
               for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, json.dumps(serious, indent=1)


def test_on_a_phone_the_open_list_fits_the_screen_and_leaves_the_field_seen(admin_page: Any, province) -> None:
    """At 390x844 the list opens under the field, inside the screen's width, every match's
    name and cities whole (not cut off at the edge), and the field stays visible above it."""
    page = admin_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator(FIELD).scroll_into_view_if_needed()
    page.locator(FIELD).press_sequentially("mary", delay=40)
    page.wait_for_selector(OPTIONS)
    layout = page.evaluate("""() => {
      const field = document.querySelector('#organisation_id').getBoundingClientRect();
      const list = document.getElementById('organisation_id-options');
      const box = list.getBoundingClientRect();
      const options = [...list.querySelectorAll('[role=option]')];
      return {fieldBottom: field.bottom, fieldTop: field.top, top: box.top, left: box.left, right: box.right,
              pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
              cut: options.filter((o) => o.scrollWidth > o.clientWidth + 1).map((o) => o.innerText)};
    }""")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "congregation-choice-phone.png"))
    assert layout["fieldTop"] >= 0 and layout["top"] >= layout["fieldBottom"] - 1, layout
    assert layout["left"] >= 0 and layout["right"] <= layout["viewport"], layout
    assert layout["pageWidth"] <= layout["viewport"], layout  # nothing to scroll sideways
    assert layout["cut"] == [], layout
