"""Accessibility of every page a role reaches, in a real Chromium: axe-core (the PyPI package
axe-playwright-python, which ships its own axe.min.js, so nothing is fetched at run time) at
the in-car laptop's 1024x768 and a phone's 390x844.  No violation of impact "serious" or
"critical" may remain on any page; the lesser ones are printed.  On the phone no page
scrolls sideways, and every row's actions (Edit, Remove, Call earlier...) stay on the
screen, visible and at least 44 px tall.  A full-page screenshot of each page goes to
test-artifacts/a11y-<page>-<width>.png for a person to look at.

Its own small live site: the demo synagogue's two-floor plan rendered for real (version 1
published with markers, version 2 a draft whose carried markers wait for the partner's
review), a second building never confirmed, contacts and a gathering added by the partner
through the portal (changes the administrators' review queue lists), an officer's reads
(the access log), an exercise, and an account with two-factor sign-in on.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from floorplans import create_app
from floorplans.db import db, utcnow
from floorplans.demo_plan import demo_plan_pdf
from floorplans.models import Building, Contact, Exercise, Gathering, Marker, Organisation, Role, User
from floorplans.search import normalise
from tests.blueprints.response.conftest import ARTIFACTS, LiveSite, sign_in
from tests.conftest import Browser, IsolatedClient, publish_reviewed

pytestmark = pytest.mark.browser

WIDTHS = {1024: 768, 390: 844}
BLOCKING = ("serious", "critical")
PLAN_READY = "[data-plan][data-ready='0']"


@dataclass
class A11ySite(LiveSite):
    ids: dict[str, int] = field(default_factory=dict)  # the records the pages' addresses name
    keys: dict[str, list[Any]] = field(default_factory=dict)  # role: [TOTP key, last time step used]

    def next_code(self, role: str) -> str:
        """A code of a time step after the last one used (each works once), still accepted now."""
        from floorplans.services import login

        key, last = self.keys[role]
        step = max(last + 1, int(time.time() // login.TOTP_STEP_SECONDS) - login.TOTP_DRIFT_STEPS)
        self.keys[role][1] = step
        return str(pyotp.TOTP(key, interval=login.TOTP_STEP_SECONDS).generate_otp(step))


ROLES = {"admin": Role.ADMIN, "partner": Role.PARTNER, "officer": Role.OFFICER, "planner": Role.PLANNER,
         "guarded": Role.OFFICER}


@pytest.fixture(scope="module")
def a11y_site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
              password_hash: str) -> Iterator[A11ySite]:
    from floorplans.jobs import queue_render
    from floorplans.services import login, plans

    folder = tmp_path_factory.mktemp("a11y")
    shutil.copyfile(sqlite_template, folder / "db.sqlite3")
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "STORAGE_URL": str(folder / "storage"),
        "SECRET_KEY": "a11y-browser-test", "PAGE_MAX_PIXELS": 2_000_000, "RENDER_WORKERS": 1,
        "JOBS_IMMEDIATE": True,
    })
    app.test_client_class = IsolatedClient
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="a11y-site", daemon=True)
    site = A11ySite(app=app, url=f"http://127.0.0.1:{server.server_port}")
    with app.app_context():
        organisation = Organisation(name="Beth Shalom Congregation", faith_tradition="Jewish")
        synagogue = Building(organisation=organisation, name="Beth Shalom Synagogue", street="123 Main Street",
                             city="Toronto", region="ON", postal_code="M5V 2T6", capacity=450,
                             key_box="Knox box left of the main doors.", last_verified_at=utcnow())
        hall = Building(organisation=organisation, name="Beth Shalom Hall", street="9 Elm Street", city="Toronto")
        for building in (synagogue, hall):
            building.search_text = normalise(f"{building.name} {building.street} {building.city}")
        for name, role in ROLES.items():
            site.users[name] = User(email=f"{name}-{uuid.uuid4().hex[:6]}@example.org", role=role.value,
                                    organisation=organisation if role is Role.PARTNER else None,
                                    password_hash=password_hash)
        db.session.add_all([synagogue, hall, *site.users.values()])
        for role in ("admin", "guarded"):  # administrators and one officer sign in with a code too
            site.keys[role] = [login.new_secret(), int(time.time() // login.TOTP_STEP_SECONDS) - 2]
            login.enable_two_factor(site.users[role], site.keys[role][0], site.next_code(role))
        db.session.add_all([
            Contact(building=synagogue, position=1, name="Office", role="Administrator", phone="416-555-0101"),
            Gathering(building=synagogue, label="Shabbat service", weekday=5,
                      start_time=dt.time(9, 30), end_time=dt.time(12, 0),
                      expected_attendance=250),
        ])
        db.session.commit()
        partner = site.users["partner"]
        published = plans.upload_plan(synagogue, io.BytesIO(demo_plan_pdf()), "demo.pdf", by=partner)
        queue_render(published.id)  # JOBS_IMMEDIATE: rendered at the commit
        db.session.commit()
        publish_reviewed(published, partner)
        ground = published.pages[0]
        db.session.add_all([
            Marker(building_id=synagogue.id, page_id=ground.id, kind="aed", x=0.45, y=0.8, label="AED"),
            Marker(building_id=synagogue.id, page_id=ground.id, kind="door", x=0.63, y=0.88, number=1),
        ])
        db.session.commit()
        draft = plans.upload_plan(synagogue, io.BytesIO(demo_plan_pdf()), "demo-2.pdf", by=partner)
        queue_render(draft.id)  # a draft: its carried markers wait for the partner's check
        db.session.commit()
        db.session.refresh(draft)
        assert draft.state == "ready", draft.error
        exercise = Exercise(name="Kitchen fire at the kiddush", buildings=[synagogue],
                            planners=[site.users["planner"]], created_by=site.users["planner"])
        db.session.add(exercise)
        db.session.commit()

        # Through the portal as the partner: changes the administrators' review lists.
        in_portal = Browser(app.test_client())
        in_portal.login(partner)
        added = in_portal.post(f"/portal/buildings/{synagogue.id}/contacts", {
            "name": "Miriam Katz", "role": "Caretaker", "phone": "416-555-0199", "key_holder": "1",
            "available_24_7": "1", "languages": "English, Hebrew"})
        assert added.status_code == 302, added.get_data(as_text=True)
        # An officer's reads: the partner's "Who looked" and the administrators' access log.
        in_car = Browser(app.test_client())
        in_car.login(site.users["officer"])
        for path in (f"/r/buildings/{synagogue.id}", f"/r/buildings/{synagogue.id}/plan"):
            assert in_car.get(path).status_code == 200
        db.session.expire_all()

        site.buildings.update(synagogue=synagogue, hall=hall)
        site.ids = {
            "synagogue": synagogue.id, "hall": hall.id, "contact": synagogue.contacts[0].id,
            "gathering": synagogue.gatherings[0].id, "published": published.id, "draft": draft.id,
            "exercise": exercise.id, "organisation": organisation.id, "account": site.users["officer"].id,
        }
        thread.start()
        try:
            yield site
        finally:
            server.shutdown()
            thread.join(10)
            server.server_close()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def signed_in(a11y_site: A11ySite, chromium: Any) -> Iterator[Any]:
    """``signed_in(role, width)``: one browser profile per role and screen, signed in once,
    with a two-factor code where the account has a key (``None``: signed out; "guarded":
    the password given, the code awaited)."""
    contexts: dict[tuple[str | None, int], Any] = {}

    def get(role: str | None, width: int) -> Any:
        if (role, width) not in contexts:
            context = chromium.new_context(viewport={"width": width, "height": WIDTHS[width]}, locale="en-CA",
                                           timezone_id="America/Toronto")
            context.set_default_timeout(15_000)
            if role is not None:
                page = context.new_page()
                sign_in(page, a11y_site, a11y_site.users[role], "/")
                if role in a11y_site.keys:
                    page.wait_for_url("**/login/code")
                if role in a11y_site.keys and role != "guarded":
                    page.fill("#code", a11y_site.next_code(role))
                    page.click("button[type=submit]")
                if role != "guarded":
                    page.wait_for_url(lambda url: "/login" not in url)
                page.close()
            contexts[role, width] = context
        return contexts[role, width]

    try:
        yield get
    finally:
        for context in contexts.values():
            context.close()


@dataclass(frozen=True)
class Check:
    name: str
    role: str | None
    path: str
    ready: str = "main"  # what to wait for before looking
    night: bool = False  # the in-car view's night mode, switched on by its own button


B = "/portal/buildings/{synagogue}"
CHECKS = (
    Check("login", None, "/login"),
    Check("login-code", "guarded", "/login/code"),
    Check("buildings", "partner", "/portal/"),
    Check("building", "partner", B),
    Check("building-unconfirmed", "partner", "/portal/buildings/{hall}"),
    Check("building-edit", "partner", B + "/edit"),
    Check("building-new", "partner", "/portal/buildings/new"),
    Check("contacts", "partner", B + "/contacts"),
    Check("contact-edit", "partner", B + "/contacts/{contact}"),
    Check("gatherings", "partner", B + "/gatherings"),
    Check("gathering-edit", "partner", B + "/gatherings/{gathering}"),
    Check("plans", "partner", B + "/plans"),
    Check("plan-draft", "partner", B + "/plans/{draft}"),
    Check("plan-published", "partner", B + "/plans/{published}"),
    Check("marker-editor", "partner", B + "/plans/{draft}/markers", ready=PLAN_READY),
    Check("who-looked", "partner", B + "/access-log"),
    Check("password", "partner", "/account/password"),
    Check("two-factor", "partner", "/account/two-factor"),
    Check("people", "partner", "/portal/people"),
    Check("find", "officer", "/r/"),
    Check("find-results", "officer", "/r/?q=shalom"),
    Check("card", "officer", "/r/buildings/{synagogue}"),
    Check("card-night", "officer", "/r/buildings/{synagogue}", night=True),
    Check("plan", "officer", "/r/buildings/{synagogue}/plan", ready=PLAN_READY),
    Check("plan-night", "officer", "/r/buildings/{synagogue}/plan", ready=PLAN_READY, night=True),
    Check("exercises", "planner", "/exercises/"),
    Check("exercise-new", "planner", "/exercises/new"),
    Check("exercise", "planner", "/exercises/{exercise}"),
    Check("exercise-close", "planner", "/exercises/{exercise}/close"),
    Check("exercise-draw", "planner", "/exercises/{exercise}/buildings/{synagogue}", ready=PLAN_READY),
    Check("admin", "admin", "/admin/"),
    Check("admin-buildings", "admin", "/portal/?q=shalom"),
    Check("admin-organisations", "admin", "/admin/organisations"),
    Check("admin-organisation", "admin", "/admin/organisations/{organisation}"),
    Check("admin-users", "admin", "/admin/users"),
    Check("admin-user", "admin", "/admin/users/{account}"),
    Check("admin-invitations", "admin", "/admin/invitations"),
    Check("admin-audit", "admin", "/admin/audit"),
    Check("admin-access-log", "admin", "/admin/access-log"),
    Check("admin-review-queue", "admin", "/admin/review"),
    Check("admin-review", "admin", "/admin/review/{synagogue}"),
    Check("admin-two-factor", "admin", "/account/two-factor"),
)
BY_NAME = {check.name: check for check in CHECKS}


def open_page(site: A11ySite, signed_in: Any, check: Check, width: int) -> Any:
    page = signed_in(check.role, width).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    url = check.path.format(**site.ids)
    response = page.goto(site.url + url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    assert page.url.split("#")[0] == site.url + url, f"{url} led to {page.url}"
    page.wait_for_selector(check.ready, state="attached")
    if check.night:
        page.click("[data-night-toggle]")
        page.wait_for_selector("html.night")
    page.wait_for_load_state("networkidle")
    assert not errors, errors
    return page


def leave(page: Any, check: Check) -> None:
    if check.night:  # the choice is remembered on the device: day again for the next page
        page.evaluate("localStorage.setItem('floorplans-night', '0')")
    page.close()


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:6]:
            summary = " ".join(node.get("failureSummary", "").splitlines()[1:])
            lines.append(f"    {', '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", list(BY_NAME))
def test_no_serious_accessibility_violation(a11y_site: A11ySite, signed_in: Any, name: str, width: int) -> None:
    from axe_playwright_python.sync_playwright import Axe

    check = BY_NAME[name]
    page = open_page(a11y_site, signed_in, check, width)
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"a11y-{name}-{width}.png"), full_page=True)
        violations = Axe().run(page).response["violations"]
        (ARTIFACTS / f"a11y-{name}-{width}.json").write_text(json.dumps(
            [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]} for v in violations],
            indent=1))
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        others = [v for v in violations if v["impact"] not in BLOCKING]
        if others:
            print(f"{name} at {width} px, lesser axe findings:\n{describe(others)}")
        assert not blocking, f"{name} at {width} px:\n{describe(blocking)}"
        if width == 390:
            overflow = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert overflow[0] <= overflow[1], f"{name} scrolls sideways on a phone: {overflow}"
    finally:
        leave(page, check)


# Rows and cards whose actions a partner, an administrator or a planner uses on a phone.
ROW_ACTIONS = ("table.list td a, table.list td button, .card-actions a, .card-actions button, "
               ".card > form button, .tabs a")
WITH_ROWS = ("buildings", "contacts", "gatherings", "plans", "plan-draft", "who-looked", "exercises", "exercise",
             "admin-buildings", "admin-organisations", "admin-users", "admin-audit")


@pytest.mark.parametrize("name", WITH_ROWS)
def test_row_actions_stay_reachable_on_a_phone(a11y_site: A11ySite, signed_in: Any, name: str) -> None:
    check = BY_NAME[name]
    page = open_page(a11y_site, signed_in, check, 390)
    try:
        boxes = page.evaluate(
            """(selector) => [...document.querySelectorAll(selector)].map((el) => {
                 const box = el.getBoundingClientRect(), style = getComputedStyle(el);
                 return {what: (el.innerText || el.getAttribute('aria-label') || el.outerHTML).trim().slice(0, 40),
                         left: box.left, right: box.right, height: box.height,
                         shown: style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0};
               })""",
            ROW_ACTIONS,
        )
        assert boxes, f"{name}: no row action found"
        width = page.evaluate("window.innerWidth")
        hidden = [b["what"] for b in boxes if not b["shown"]]
        off_screen = [b["what"] for b in boxes if b["left"] < 0 or b["right"] > width]
        small = [(b["what"], round(b["height"])) for b in boxes if b["height"] < 44]
        assert not hidden, f"{name}: hidden on a phone: {hidden}"
        assert not off_screen, f"{name}: off the screen on a phone: {off_screen}"
        assert not small, f"{name}: less than 44 px tall on a phone: {small}"
    finally:
        leave(page, check)


def test_every_portal_control_shows_where_the_keyboard_is(a11y_site: A11ySite, signed_in: Any) -> None:
    """Tabbing through the partner's contacts page: each focused control (top bar, tabs,
    buttons, inputs) draws an outline of at least 2 px whose colour stands out 3:1 against
    what is behind it; a skip link comes first."""
    check = BY_NAME["contacts"]
    page = open_page(a11y_site, signed_in, check, 1024)
    try:
        seen = []
        for _ in range(40):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RING)
            if ring is None:
                continue
            if ring["where"] not in {r["where"] for r in seen}:  # one picture of each kind, for a person to look at
                page.screenshot(path=str(ARTIFACTS / f"a11y-focus-{ring['where']}.png"))
            seen.append(ring)
        assert len(seen) >= 20, seen
        faint = [r for r in seen if r["width"] < 2 or r["contrast"] < 3]
        assert not faint, f"focus rings hard to see: {faint}"
        assert {"topbar", "tabs", "main"} <= {r["where"] for r in seen}, seen
        # The first Tab of a page offers to skip the top bar; Enter lands in the page's content.
        page.reload()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "content"
    finally:
        leave(page, check)


# The focused element's outline and its contrast against the nearest opaque background
# behind it (WCAG 2.4.11/1.4.11: 3:1 for a focus indicator).
FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = el.parentElement, colour = [255, 255, 255];
  while (back) {
    const c = rgb(getComputedStyle(back).backgroundColor);
    if (c.length === 3 || c[3] > 0) { colour = c; break; }
    back = back.parentElement;
  }
  const a = lum(rgb(style.outlineColor)), b = lum(colour);
  return {what: el.tagName + ' ' + (el.innerText || el.name || el.id || '').trim().slice(0, 30),
          where: el.closest('.topbar') ? 'topbar' : el.closest('.tabs') ? 'tabs' : 'main',
          width: style.outlineStyle === 'none' ? 0 : parseFloat(style.outlineWidth),
          contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
}"""
