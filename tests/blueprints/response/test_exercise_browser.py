"""A planner draws on an exercise's scratch layer in real Chromium: an area, by clicks and a
double-click, saved through the JSON endpoint and there again after a reload, over the
building's real markers (which stay as they were); and the page's layout, as the in-car
plan's (test_plan_layout_browser.py, whose measures it uses): no tool over a grid reference,
every control within reach, at 1024 x 768 and 390 x 844 from Fit to full zoom.  Screenshots
go to test-artifacts/exercise-*.png for a person to look at.

Its own small live site (the demo synagogue's two-floor vector plan, rendered for real), so
it does not wait for the in-car tests' bigger corpus plans."""

from __future__ import annotations

import io
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from floorplans import create_app
from floorplans.db import db
from floorplans.demo_plan import demo_plan_pdf
from floorplans.models import Building, Exercise, ExerciseItem, Marker, Organisation, Role, User
from floorplans.search import normalise
from tests.blueprints.response.conftest import LiveSite, screenshot, sign_in
from tests.blueprints.response.test_plan_layout_browser import CORNERS, MEASURE, SMALL_TARGETS, pan_to, settle, zoom_in
from tests.conftest import publish_reviewed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def drill_site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
               password_hash: str) -> Iterator[LiveSite]:
    from floorplans.jobs import queue_render
    from floorplans.services import plans

    folder = tmp_path_factory.mktemp("drill")
    shutil.copyfile(sqlite_template, folder / "db.sqlite3")
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "STORAGE_URL": str(folder / "storage"),
        "SECRET_KEY": "browser-test-secret", "PAGE_MAX_PIXELS": 2_000_000, "RENDER_WORKERS": 1,
        "JOBS_IMMEDIATE": True,
    })
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="drill-site", daemon=True)
    site = LiveSite(app=app, url=f"http://127.0.0.1:{server.server_port}")
    with app.app_context():
        organisation = Organisation(name="Beth Shalom Congregation", faith_tradition="Jewish")
        synagogue = Building(organisation=organisation, name="Beth Shalom Synagogue", street="123 Main Street",
                             city="Toronto")
        synagogue.search_text = normalise("Beth Shalom Synagogue 123 Main Street Toronto")
        for name, role in (("partner", Role.PARTNER), ("planner", Role.PLANNER)):
            site.users[name] = User(email=f"{name}-{uuid.uuid4().hex[:6]}@example.org", role=role.value,
                                    organisation=organisation if role is Role.PARTNER else None,
                                    password_hash=password_hash)
        db.session.add_all([synagogue, *site.users.values()])
        db.session.commit()
        version = plans.upload_plan(synagogue, io.BytesIO(demo_plan_pdf()), "demo.pdf", by=site.users["partner"])
        queue_render(version.id)  # JOBS_IMMEDIATE: rendered at the commit, a draft its partner publishes
        db.session.commit()
        publish_reviewed(version, site.users["partner"])
        db.session.refresh(synagogue)
        assert synagogue.published_version is not None, "the demo plan did not render"
        ground = synagogue.published_version.pages[0]
        db.session.add_all([
            Marker(building_id=synagogue.id, page_id=ground.id, kind="aed", x=0.45, y=0.8, label="AED"),
            Marker(building_id=synagogue.id, page_id=ground.id, kind="door", x=0.63, y=0.88, number=1),
        ])
        exercise = Exercise(name="Kitchen fire at the kiddush", buildings=[synagogue],
                            planners=[site.users["planner"]], created_by=site.users["planner"])
        db.session.add(exercise)
        db.session.commit()
        site.buildings["synagogue"] = synagogue
        thread.start()
        try:
            yield site
        finally:
            server.shutdown()
            thread.join(10)
            server.server_close()
            db.session.remove()
            db.engine.dispose()


def screen_point(page: Any, fx: float, fy: float) -> tuple[float, float]:
    """Where a page-relative position of the floor on screen is, in the browser window."""
    x, y = page.evaluate(
        """([fx, fy]) => {
             const el = document.querySelector('[data-plan]'), v = el.planViewer;
             const p = v.map.latLngToContainerPoint(v.toLatLng(v.page(), fx, fy));
             const box = el.getBoundingClientRect();
             return [box.left + p.x, box.top + p.y];
           }""",
        [fx, fy],
    )
    return x, y


def wait_for_plan(page: Any) -> None:
    page.wait_for_selector("[data-plan][data-ready='0']")
    page.wait_for_selector(".plan-marker[data-kind='aed']")  # the real markers, drawn by markers.js


def open_drawing(context: Any, drill_site: LiveSite, url: str, errors: list[str]) -> Any:
    """The drawing page at url, signed in as the planner, once the plan and its real markers
    are drawn; script errors go to errors."""
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, drill_site, drill_site.users["planner"], url)
    page.wait_for_url(f"**{url}")
    wait_for_plan(page)
    return page


def test_a_planner_draws_an_area_and_finds_it_after_a_reload(drill_site: LiveSite, chromium: Any) -> None:
    with drill_site.db():
        exercise = db.session.scalars(select(Exercise)).one()
        synagogue = drill_site.buildings["synagogue"]
        url = f"/exercises/{exercise.id}/buildings/{synagogue.id}"
        markers_before = [(m.id, m.x, m.y, m.kind) for m in db.session.scalars(select(Marker).order_by(Marker.id))]
    context = chromium.new_context(viewport={"width": 1024, "height": 768}, locale="en-CA")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(f"{message.text} {message.location.get('url')}")
                if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico") else None)
        sign_in(page, drill_site, drill_site.users["planner"], url)
        page.wait_for_url(f"**{url}")
        wait_for_plan(page)
        assert page.locator(".exercise-banner").inner_text().startswith("EXERCISE")

        page.click("[data-tool='area']")
        page.click("[data-colour='#9333ea']")
        page.fill("[data-label]", "Search sector <b>A</b>")
        corners = [(0.1, 0.15), (0.45, 0.15), (0.45, 0.6)]
        for fx, fy in corners[:-1]:
            page.mouse.click(*screen_point(page, fx, fy))
        page.mouse.dblclick(*screen_point(page, *corners[-1]))  # a double-click ends the area
        page.wait_for_selector("[data-exercise-status]:has-text('Saved.')")
        assert page.locator(".leaflet-exercise-pane path.exercise-item").count() == 1

        with drill_site.db():
            item = db.session.scalars(select(ExerciseItem)).one()
            ground_id = item.page_id
            assert (item.shape, item.label, item.colour) == ("area", "Search sector <b>A</b>", "#9333ea")
            assert len(item.points) == 3
            for (x, y), (fx, fy) in zip(item.points, corners, strict=True):
                assert abs(x - fx) < 0.01 and abs(y - fy) < 0.01

        page.reload()
        wait_for_plan(page)
        page.wait_for_selector(".leaflet-exercise-pane path.exercise-item")
        assert page.locator("[data-plan]").get_attribute("data-exercise-items") == "1"
        assert page.locator(".exercise-label").inner_text() == "Search sector <b>A</b>"  # text, never HTML
        assert page.locator(".plan-marker").count() == 2  # the real markers, still underneath

        # Another planner's note appears without a reload (the 5-second poll, or here a floor change).
        with drill_site.db():
            db.session.add(ExerciseItem(exercise_id=exercise.id, building_id=synagogue.id, page_id=ground_id,
                                        shape="note", points=[[0.8, 0.3]], label="Staging: EMS", colour="#2563eb"))
            db.session.commit()
        page.click("[data-floor='1']")
        page.click("[data-floor='0']")
        page.wait_for_selector(".exercise-note:has-text('Staging: EMS')")
        shot = screenshot(page, "exercise-drawing-1024")
        page.set_viewport_size({"width": 390, "height": 844})
        page.click("[data-fit]")
        phone = screenshot(page, "exercise-drawing-390")
        assert shot.stat().st_size > 10_000 and phone.stat().st_size > 10_000
        # The exercise's own page, one click away: its buildings, planners and the way to close it.
        page.set_viewport_size({"width": 1024, "height": 768})
        page.click(".bar-name")
        page.wait_for_selector("text=Draw on the plan")
        screenshot(page, "exercise-page-1024")
        assert errors == []
    finally:
        context.close()
    with drill_site.db():
        db.session.expire_all()
        markers_after = [(m.id, m.x, m.y, m.kind) for m in db.session.scalars(select(Marker).order_by(Marker.id))]
        assert markers_after == markers_before


#: Every control of the drawing page (the bar, the exercise's tools, the viewer's controls):
#: shown whole in the window once scrolled to (the viewer's column scrolls on a short screen),
#: the control itself at its centre, and nowhere over the plan or its ruler strips.
REACHABLE = """() => {
    const problems = [];
    const frame = document.querySelector('.plan-frame').getBoundingClientRect();
    const name = node => node ? `${node.tagName}.${node.className}` : 'nothing';
    const controls = [...document.querySelectorAll(
        '.bar a, .bar button, .exercise-tools button, .exercise-tools input, .exercise-tools select, '
        + '.plan-controls button, .plan-controls select')]
        .filter(node => node.getClientRects().length && getComputedStyle(node).visibility !== 'hidden');
    for (const node of controls) {
        const text = node.textContent || node.title || node.placeholder || '';
        const what = `${node.tagName} "${text.trim().slice(0, 24)}"`;
        node.scrollIntoView({block: 'nearest', inline: 'nearest'});
        const r = node.getBoundingClientRect();
        if (r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5)
            problems.push(`${what} outside the window`);
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        if (!(hit === node || node.contains(hit))) problems.push(`${what} covered by ${name(hit)}`);
        if (Math.min(r.right, frame.right) - Math.max(r.left, frame.left) > 0.5 &&
            Math.min(r.bottom, frame.bottom) - Math.max(r.top, frame.top) > 0.5)
            problems.push(`${what} over the plan`);
    }
    return {problems, count: controls.length};
}"""


@pytest.mark.parametrize("size", [(1024, 768), (390, 844)], ids=["laptop", "phone"])
def test_the_drawing_tools_never_cover_a_grid_reference(drill_site: LiveSite, chromium: Any,
                                                        size: tuple[int, int]) -> None:
    """As on the in-car plan: from Fit through every zoom step to full zoom (and the page's
    corners there), no grid letter or number is covered and every control can be reached,
    with a drawing tool chosen and a line half drawn too.  A drawn area and a note along the
    page's edges (their labels as close to the strips as anything gets)."""
    with drill_site.db():
        exercise = db.session.scalars(select(Exercise)).one()
        synagogue = drill_site.buildings["synagogue"]
        ground_id = db.session.get(Building, synagogue.id).published_version.pages[0].id
        url = f"/exercises/{exercise.id}/buildings/{synagogue.id}"
        drawn = [
            ExerciseItem(exercise_id=exercise.id, building_id=synagogue.id, page_id=ground_id, shape="area",
                         points=[[0.0, 0.0], [0.3, 0.0], [0.3, 0.15]], label="Outer cordon", colour="#dc2626"),
            ExerciseItem(exercise_id=exercise.id, building_id=synagogue.id, page_id=ground_id, shape="note",
                         points=[[0.0, 0.5]], label="Command post", colour="#2563eb"),
        ]
        db.session.add_all(drawn)
        db.session.commit()
        drawn_ids = [item.id for item in drawn]
    width, height = size
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-CA")
    context.set_default_timeout(15_000)
    problems: list[str] = []
    errors: list[str] = []

    def check(where: str) -> dict[str, Any]:
        seen = page.evaluate(MEASURE)
        problems.extend(f"{where}: {p}" for p in seen["problems"])
        assert seen["columns"] and seen["rows"], (where, seen)
        reach = page.evaluate(REACHABLE)
        problems.extend(f"{where}: {p}" for p in reach["problems"])
        assert reach["count"] >= 20, (where, reach)  # the bar, six tools, six colours, floors, zoom, Fit...
        problems.extend(f"{where}: {p}" for p in page.evaluate(SMALL_TARGETS))
        return seen

    try:
        page = open_drawing(context, drill_site, url, errors)
        page.wait_for_selector(".exercise-note:has-text('Command post')")
        page.click("[data-fit]")
        settle(page)
        step = 0
        while True:
            where = f"{width}x{height} step {step}"
            seen = check(where)
            screenshot(page, f"exercise-layout-{width}-{step:02d}-z{seen['zoom']:.2f}")
            full = page.locator("[data-zoom-in]").is_disabled()
            if full:
                for fx, fy in CORNERS:
                    pan_to(page, fx, fy)
                    check(f"{where} at ({fx}, {fy})")
                    screenshot(page, f"exercise-layout-{width}-{step:02d}-corner-{fx:.0f}{fy:.0f}")
                break
            zoom_in(page)
            step += 1
        assert step >= 3, f"only {step} zoom steps from Fit to full zoom"

        # With a tool chosen: the marker's kind, then a line half drawn (Finish and Cancel).
        page.click("[data-fit]")
        settle(page)
        page.click("[data-tool='marker']")
        assert page.locator("select[data-kind]").is_visible()
        settle(page)
        check(f"{width}x{height} marker tool")
        page.click("[data-tool='line']")
        settle(page)
        page.mouse.click(*screen_point(page, 0.5, 0.5))
        page.locator("[data-finish]").wait_for()
        settle(page)
        check(f"{width}x{height} drawing a line")
        screenshot(page, f"exercise-layout-{width}-drawing")
        page.keyboard.press("Escape")
        assert page.locator("[data-finish]").is_hidden()
        assert problems == [], "\n".join(problems[:40])
        assert errors == []
    finally:
        context.close()
        with drill_site.db():
            for item_id in drawn_ids:
                db.session.delete(db.session.get(ExerciseItem, item_id))
            db.session.commit()


def test_a_refused_or_lost_save_says_why_and_keeps_nothing(drill_site: LiveSite, chromium: Any) -> None:
    # The layer saves through static/js/save.js: the server's refusal names the field after
    # "Not saved:", no network says "No connection", and neither leaves an item behind.
    with drill_site.db():
        exercise = db.session.scalars(select(Exercise)).one()
        url = f"/exercises/{exercise.id}/buildings/{drill_site.buildings['synagogue'].id}"
    context = chromium.new_context(viewport={"width": 1024, "height": 768}, locale="en-CA")
    context.set_default_timeout(15_000)
    errors: list[str] = []
    try:
        page = open_drawing(context, drill_site, url, errors)
        status = "[data-exercise-status].error"

        page.click("[data-tool='note']")
        page.evaluate("document.querySelector('[data-label]').removeAttribute('maxlength')")
        page.fill("[data-label]", "x" * 201)
        page.mouse.click(*screen_point(page, 0.3, 0.35))
        page.wait_for_selector(f"{status}:has-text('Not saved: label is too long (201 characters')")

        page.fill("[data-label]", "Staging area for the drill")
        context.set_offline(True)
        page.mouse.click(*screen_point(page, 0.3, 0.35))
        page.wait_for_selector(f"{status}:has-text('No connection: the change was not saved.')")
        context.set_offline(False)

        page.mouse.click(*screen_point(page, 0.3, 0.35))
        page.wait_for_selector("[data-exercise-status]:not(.error):has-text('Saved.')")
        assert errors == []
    finally:
        context.close()
    with drill_site.db():
        notes = db.session.scalars(select(ExerciseItem).where(ExerciseItem.shape == "note")).all()
        assert [n.label for n in notes].count("Staging area for the drill") == 1
        assert not [n for n in notes if n.label.startswith("xxx")]
