"""The in-car plan's layout in a real Chromium, on the laptop (1024 x 768) and a phone
(390 x 844), by day and at night: from Fit through every zoom step to full zoom, and panned
to the page's corners at each step,

(a) no grid letter or number is covered by anything (a control, a panel, a marker);
(b) no marker's label covers another marker's icon or another label;
(c) on the phone, the page takes at least half of the screen at Fit;
(d) a tap on a marker (a touch screen has no hover) shows its full label and note;
(e) every control is at least 44 x 44 px;
(f) doors are "Door 2 (side B)", never "B2" (which reads as a grid square);
and the card's and the plan's texts keep 4.5:1 contrast, every control a visible focus ring.

Two plans: the mosque's, with the demo's ground-floor markers put on it (the main door, the
kitchen door and the key box close together, as in the report that started this), and the
chapel's A4 sheet with fourteen markers packed into a few grid squares (doors with numbers and
sides, a hazard, the three shut-offs, an AED, long labels and notes).  A screenshot of every
step goes to test-artifacts/layout-*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest

from floorplans.db import db
from floorplans.demo import DEMO_MARKERS
from floorplans.models import Building, Marker
from tests.blueprints.response.conftest import LiveSite, screenshot, sign_in

pytestmark = pytest.mark.browser

LAPTOP = (1024, 768)
PHONE = (390, 844)
LONG_LABEL = "Side door to the hall, kept locked; key with the caretaker"
LONG_NOTE = "Push bar sticks in winter: lift while pushing.\nAlarm sounds at the panel by the main doors."

#: The chapel's cluster: kind, x, y and values, page-relative, a few grid squares wide.
CLUSTER: tuple[tuple[str, float, float, dict[str, Any]], ...] = (
    ("door", 0.50, 0.50, {"number": 1, "side": "A", "label": "Main doors"}),
    ("door", 0.53, 0.51, {"number": 2, "side": "B", "label": LONG_LABEL, "note": LONG_NOTE}),
    ("door", 0.47, 0.53, {"number": 3, "label": "Kitchen, locked"}),
    ("door", 0.985, 0.30, {"number": 4, "side": "D", "label": "Fire exit by the east wall"}),
    ("hazard", 0.52, 0.47, {"label": "Oxygen cylinders in the first-aid room", "note": "Six cylinders, 40 L."}),
    ("gas_shutoff", 0.55, 0.48, {"label": "Gas meter", "note": "West wall, outside."}),
    ("electric_shutoff", 0.49, 0.46, {"label": "Main electrical panel"}),
    ("water_shutoff", 0.46, 0.49, {"label": "Water meter"}),
    ("aed", 0.51, 0.55, {"label": "AED in the lobby", "note": "Cabinet alarmed; code 1234 on the lid."}),
    ("first_aid", 0.54, 0.54, {"label": "First-aid kit"}),
    ("key_box", 0.48, 0.51, {"label": "Knox box", "note": "Left of the main doors, shoulder height."}),
    ("fire_alarm_panel", 0.56, 0.52, {"label": "Fire alarm panel, main"}),
    ("stairs", 0.50, 0.57, {}),
    ("rally_point", 0.015, 0.96, {"label": "Rally point across the street"}),
)


@pytest.fixture(scope="module")
def plans(live_site: LiveSite) -> dict[str, int]:
    """The markers of both plans (on each plan's first floor); the buildings' ids by name."""
    with live_site.db():
        mosque = db.session.get(Building, live_site.buildings["mosque"].id)
        chapel = db.session.get(Building, live_site.buildings["chapel"].id)
        first = mosque.published_version.pages[0]
        for number, kind, x, y, values in DEMO_MARKERS:
            if number == 1:
                db.session.add(Marker(building_id=mosque.id, page_id=first.id, kind=kind, x=x, y=y, **values))
        sheet = chapel.published_version.pages[0]
        for kind, x, y, values in CLUSTER:
            db.session.add(Marker(building_id=chapel.id, page_id=sheet.id, kind=kind, x=x, y=y, **values))
        db.session.commit()
        return {"mosque": mosque.id, "chapel": chapel.id}


def open_plan(chromium: Any, site: LiveSite, building_id: int, size: tuple[int, int], night: bool,
              errors: list[str]) -> tuple[Any, Any]:
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]}, has_touch=True, locale="en-CA")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("console", lambda message: errors.append(f"{page.url}: {message.text}")
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico") else None)
    sign_in(page, site, site.users["officer"], f"/r/buildings/{building_id}/plan")
    page.wait_for_selector("[data-plan][data-ready='0']")
    page.wait_for_selector(".plan-marker")
    if night:
        page.click("[data-night-toggle]")
        assert page.evaluate("document.documentElement.classList.contains('night')")
    return context, page


SETTLE = """() => new Promise(resolve => {
    const map = document.querySelector('[data-plan]').planViewer.map;
    const still = () => !map._animatingZoom && !(map._panAnim && map._panAnim._inProgress);
    const wait = () => requestAnimationFrame(() => requestAnimationFrame(() => still() ? resolve() : wait()));
    wait();
})"""


def settle(page: Any) -> None:
    page.evaluate(SETTLE)


def zoom_in(page: Any) -> None:
    """Press the + button as an officer would, and wait for the zoom to end."""
    page.evaluate("""() => {
        window.zoomDone = false;
        document.querySelector('[data-plan]').planViewer.map.once('zoomend', () => { window.zoomDone = true; });
    }""")
    page.click("[data-zoom-in]")
    page.wait_for_function("() => window.zoomDone")
    settle(page)


def pan_to(page: Any, fx: float, fy: float) -> None:
    page.evaluate("""([fx, fy]) => {
        const v = document.querySelector('[data-plan]').planViewer;
        v.map.panTo(v.toLatLng(v.page(), fx, fy), {animate: false});
    }""", [fx, fy])
    settle(page)


#: Everything measured on screen at one view; returns the problems found, in words.
MEASURE = """() => {
    const problems = [];
    const el = document.querySelector('[data-plan]'), v = el.planViewer, map = v.map, page = v.page(), g = page.grid;
    const plan = el.getBoundingClientRect();
    const name = node => node ? (node.className && node.className.baseVal !== undefined ? node.className.baseVal
        : node.className) + (node.textContent ? ' "' + node.textContent.slice(0, 30) + '"' : '') : 'nothing';
    const screenX = fx => plan.left + map.latLngToContainerPoint(v.toLatLng(page, fx, 0)).x;
    const screenY = fy => plan.top + map.latLngToContainerPoint(v.toLatLng(page, 0, fy)).y;
    const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
        Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;

    // (a) every grid label: hit-tested at its centre, whole inside its strip, over its own column or row.
    const labels = [...document.querySelectorAll('.grid-label')];
    const named = {column: new Set(), row: new Set()};
    for (const label of labels) {
        const r = label.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        const kind = label.classList.contains('column') ? 'column' : 'row';
        named[kind].add(label.textContent);
        label.style.pointerEvents = 'auto';
        const hit = document.elementFromPoint(x, y);
        label.style.pointerEvents = '';
        if (!(hit === label || label.contains(hit))) problems.push(`grid ${label.textContent} covered by ${name(hit)}`);
        const strip = label.parentElement.getBoundingClientRect();
        if (r.left < strip.left - 0.5 || r.right > strip.right + 0.5 ||
            r.top < strip.top - 0.5 || r.bottom > strip.bottom + 0.5)
            problems.push(`grid ${label.textContent} cut by the edge of its strip`);
        if (kind === 'column') {
            const i = g.column_labels.indexOf(label.textContent);
            const a = screenX(i * g.cell / page.width), b = screenX(Math.min(1, (i + 1) * g.cell / page.width));
            if (x < a - 1 || x > b + 1) problems.push(`column ${label.textContent} is not over its column`);
        } else {
            const i = Number(label.textContent) - 1;
            const a = screenY(i * g.cell / page.height), b = screenY(Math.min(1, (i + 1) * g.cell / page.height));
            if (y < a - 1 || y > b + 1) problems.push(`row ${label.textContent} is not beside its row`);
        }
    }
    // ... and every column and row with a fair part on screen has its label.
    for (let i = 0; i < g.columns; i++) {
        const a = Math.max(plan.left, screenX(i * g.cell / page.width));
        const b = Math.min(plan.right, screenX(Math.min(1, (i + 1) * g.cell / page.width)));
        if (b - a >= 40 && !named.column.has(g.column_labels[i]))
            problems.push(`column ${g.column_labels[i]} unlabelled`);
    }
    for (let i = 0; i < g.rows; i++) {
        const a = Math.max(plan.top, screenY(i * g.cell / page.height));
        const b = Math.min(plan.bottom, screenY(Math.min(1, (i + 1) * g.cell / page.height)));
        if (b - a >= 40 && !named.row.has(String(i + 1))) problems.push(`row ${i + 1} unlabelled`);
    }

    // (b) marker labels against other markers' icons and other labels; (f) door names.
    const markers = [...el.querySelectorAll('.leaflet-marker-pane .plan-marker')];
    const icons = markers.map(m => [m, m.querySelector('.marker-icon').getBoundingClientRect()]);
    const shown = [];
    for (const m of markers) {
        const text = m.querySelector('.marker-text');
        if (!text || getComputedStyle(text).display === 'none') continue;
        const r = text.getBoundingClientRect();
        if (!r.width) continue;
        shown.push([m, text, r]);
    }
    for (const [m, text, r] of shown) {
        for (const [other, icon] of icons)
            if (other !== m && overlap(r, icon))
                problems.push(`label "${text.textContent}" covers ${other.getAttribute('aria-label').slice(0, 40)}`);
        for (const [other, otherText, o] of shown)
            if (other !== m && overlap(r, o) && m.dataset.markerId < other.dataset.markerId)
                problems.push(`labels "${text.textContent}" and "${otherText.textContent}" overlap`);
        if (r.left < plan.left || r.right > plan.right || r.top < plan.top || r.bottom > plan.bottom) {
            const onScreen = r.right > plan.left && r.left < plan.right && r.bottom > plan.top && r.top < plan.bottom;
            if (onScreen) problems.push(`label "${text.textContent}" cut by the map's edge`);
        }
        if (text.scrollWidth > text.clientWidth) problems.push(`label "${text.textContent}" cut by its ellipsis`);
        const door = text.textContent;
        if (m.dataset.kind === 'door' && (!/^Door \\d+/.test(door) || /^[A-J][0-9]+/.test(door)))
            problems.push(`door label "${text.textContent}"`);
    }

    // (c) the page's share of the screen (its box on screen, clipped to the window).
    const edge = el.querySelector('.page-edge').getBoundingClientRect();
    const w = Math.max(0, Math.min(innerWidth, edge.right) - Math.max(0, edge.left));
    const h = Math.max(0, Math.min(innerHeight, edge.bottom) - Math.max(0, edge.top));
    return {problems, zoom: map.getZoom(), share: w * h / (innerWidth * innerHeight),
            labelled: shown.map(([m]) => m.dataset.markerId), columns: named.column.size, rows: named.row.size};
}"""

CORNERS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0))


@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_nothing_covers_a_grid_reference_or_a_marker_at_any_zoom(
    live_site: LiveSite, plans: dict[str, int], chromium: Any, size: tuple[int, int], night: bool
) -> None:
    errors: list[str] = []
    theme = "night" if night else "day"
    for name, building_id in plans.items():
        context, page = open_plan(chromium, live_site, building_id, size, night, errors)
        try:
            problems: list[str] = []
            labelled: set[str] = set()
            with_text = set(page.evaluate("""() => document.querySelector('[data-plan]').planViewer.page().markers
                .filter(m => m.label || m.number).map(m => String(m.id))"""))
            assert len(with_text) >= 8, with_text
            page.click("[data-fit]")
            settle(page)
            step = 0
            while True:
                where = f"{name} {size[0]}x{size[1]} {theme} step {step}"
                seen = page.evaluate(MEASURE)
                problems += [f"{where}: {p}" for p in seen["problems"]]
                labelled.update(seen["labelled"])
                assert seen["columns"] and seen["rows"], (where, seen)
                if step == 0:
                    assert seen["labelled"], f"{where}: no label at all at Fit"
                    if size == PHONE:
                        assert seen["share"] >= 0.5, f"{where}: the page takes {seen['share']:.0%} of the screen"
                screenshot(page, f"layout-{name}-{size[0]}-{theme}-{step:02d}-z{seen['zoom']:.2f}")
                full = page.locator("[data-zoom-in]").is_disabled()
                for fx, fy in CORNERS:
                    pan_to(page, fx, fy)
                    seen = page.evaluate(MEASURE)
                    problems += [f"{where} at ({fx}, {fy}): {p}" for p in seen["problems"]]
                    labelled.update(seen["labelled"])
                    if full:
                        screenshot(page, f"layout-{name}-{size[0]}-{theme}-{step:02d}-corner-{fx:.0f}{fy:.0f}")
                pan_to(page, 0.5, 0.5)
                if full:
                    break
                zoom_in(page)
                step += 1
            assert step >= 4, f"{name}: only {step} zoom steps from Fit to full zoom"
            assert problems == [], "\n".join(problems[:40])
            # Labels give way when zoomed out, never for good: each was read somewhere on the way.
            assert labelled == with_text, sorted(with_text - labelled)
        finally:
            context.close()
    assert errors == []


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_tap_on_a_marker_shows_all_of_it(
    live_site: LiveSite, plans: dict[str, int], chromium: Any, size: tuple[int, int]
) -> None:
    errors: list[str] = []
    context, page = open_plan(chromium, live_site, plans["chapel"], size, False, errors)
    try:
        while not page.locator("[data-zoom-in]").is_disabled():
            zoom_in(page)
        pan_to(page, 0.53, 0.51)
        page.locator(".plan-marker[aria-label*='Door 2 (side B)'] .marker-icon").tap()
        panel = page.locator("[data-marker-info]:not([hidden])")
        panel.wait_for()
        text = panel.inner_text()
        assert "Exterior door" in text and "Door 2 (side B)" in text, text
        assert LONG_LABEL in text and "Push bar sticks in winter: lift while pushing." in text, text
        assert re.search(r"Grid square [A-J]\d+", text), text
        assert not re.search(r"\bB2\b", text), text
        seen = page.evaluate(MEASURE)
        assert seen["problems"] == [], seen["problems"]  # the panel covers no grid reference
        screenshot(page, f"layout-tap-{size[0]}")
        panel.locator("button:has-text('Close')").tap()
        assert page.locator("[data-marker-info]").is_hidden()
        # Its label is a tap target too, and so is any marker for the keyboard: Enter, then Esc.
        label = page.locator(".plan-marker:not(.label-none) .marker-text").first
        label.tap()
        page.locator("[data-marker-info]:not([hidden])").wait_for()
        page.keyboard.press("Escape")
        assert page.locator("[data-marker-info]").is_hidden()
        aed = page.locator(".plan-marker[data-kind='aed']")
        aed.focus()
        page.keyboard.press("Enter")
        assert "AED in the lobby" in page.locator("[data-marker-info]").inner_text()
        page.keyboard.press("Escape")
        assert page.evaluate("document.activeElement.dataset.kind") == "aed"  # focus back on the marker
        # A tap on the plan elsewhere closes it too: on the drawing, once the map has stopped
        # moving to show the panel (a fixed point could be another marker by then).
        aed.tap()
        page.locator("[data-marker-info]:not([hidden])").wait_for()
        settle(page)
        page.touchscreen.tap(*page.evaluate(BARE_SPOT))
        page.locator("[data-marker-info]").wait_for(state="hidden")
    finally:
        context.close()
    assert errors == []


#: A point of the map where only the drawing is: no marker, label, panel or control on it.
BARE_SPOT = """() => new Promise(resolve => {
    const plan = document.querySelector('[data-plan]'), box = plan.getBoundingClientRect();
    const bareAt = (x, y) => {
        const node = document.elementFromPoint(x, y);
        return node && plan.contains(node) && !node.closest('.leaflet-marker-pane, .plan-panel, .leaflet-control');
    };
    // Chromium moves a tap onto a clickable thing near it (touch adjustment): bare around, too.
    const bare = (x, y) => [[0, 0], [-24, 0], [24, 0], [0, -24], [0, 24]].every(([dx, dy]) => bareAt(x + dx, y + dy));
    const frame = () => new Promise(next => requestAnimationFrame(() => requestAnimationFrame(next)));
    // The panel takes its place after the map has moved: the spot must stay bare a few frames.
    const find = async () => {
        for (let y = box.top + 30; y < box.bottom - 30; y += 16) {
            for (let x = box.left + 30; x < box.right - 30; x += 16) {
                if (!bare(x, y)) continue;
                await frame(); await frame();
                if (bare(x, y)) return [x, y];
            }
        }
        throw new Error('no bare spot on the plan');
    };
    resolve(find());
})"""


SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, select, input, .leaflet-control a, [tabindex]')]
    .filter(node => node.getClientRects().length && getComputedStyle(node).visibility !== 'hidden'
                    && !node.classList.contains('plan-marker') && !node.matches('[data-plan]'))
    .map(node => [node.tagName + ' ' + (node.textContent || node.getAttribute('aria-label') || '').trim().slice(0, 30),
                  node.getBoundingClientRect()])
    .filter(([, r]) => r.width < 44 || r.height < 44)
    .map(([what, r]) => `${what}: ${Math.round(r.width)} x ${Math.round(r.height)}`)"""


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_every_control_is_a_44_px_target_and_doors_are_never_grid_squares(
    live_site: LiveSite, plans: dict[str, int], chromium: Any, size: tuple[int, int]
) -> None:
    errors: list[str] = []
    context, page = open_plan(chromium, live_site, plans["mosque"], size, False, errors)
    try:
        assert page.evaluate(SMALL_TARGETS) == []
        page.click("[data-legend-toggle]")
        assert page.locator("[data-marker-legend]").is_visible()
        assert page.evaluate(SMALL_TARGETS) == []
        assert page.evaluate(MEASURE)["problems"] == []  # the open legend covers no grid reference
        screenshot(page, f"layout-legend-{size[0]}")
        page.click("[data-legend-toggle]")
        page.locator(".plan-marker[data-kind='door']").first.locator(".marker-icon").tap()
        assert page.evaluate(SMALL_TARGETS) == []
        page.keyboard.press("Escape")
        doors = page.evaluate("""() => document.querySelector('[data-plan]').planViewer.page().markers
            .filter(m => m.kind === 'door').map(m => [m.door, document.querySelector(
                `.plan-marker[data-marker-id="${m.id}"]`).getAttribute('aria-label')])""")
        assert [door for door, _ in doors] == ["Door 1 (side A)", "Door 2 (side B)", "Door 3"]
        for door, described in doors:
            assert door in described and not re.search(r"\b[A-D][0-9]\b", described), described
        page.goto(live_site.url + f"/r/buildings/{plans['mosque']}")
        assert page.evaluate(SMALL_TARGETS) == []  # the card: phone links, "Print & export", the bar
    finally:
        context.close()
    assert errors == []


#: Colours: parsing "rgb(a)" strings, blending, WCAG's relative luminance and contrast ratio.
COLOURS = """
    const parse = c => { const m = c.match(/[\\d.]+/g).map(Number);
        return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
    const blend = (top, under, alpha) => top.map((c, i) => i < 3 ? c * alpha + under[i] * (1 - alpha) : 1);
    const luminance = rgb => { const [r, g, b] = rgb.slice(0, 3).map(c => { c /= 255;
        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
        return (x + 0.05) / (y + 0.05); };
    /* What is behind a node: the first opaque ground up its ancestors, translucent ones blended over it. */
    function ground(node) {
        const layers = [];
        for (let n = node; n; n = n.parentElement) {
            const c = parse(getComputedStyle(n).backgroundColor);
            if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
        }
        let rgb = [255, 255, 255, 1];
        if (layers.length && layers[layers.length - 1][3] >= 1) rgb = layers.pop();
        while (layers.length) { const c = layers.pop(); rgb = blend(c, rgb, c[3]); }
        return rgb;
    }
"""

#: Every text on the page against what is behind it (opacity and translucent grounds blended).
CONTRAST = "() => {" + COLOURS + """
    const failures = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    while (walker.nextNode()) {
        const node = walker.currentNode.parentElement;
        if (!walker.currentNode.textContent.trim() || seen.has(node)) continue;
        seen.add(node);
        if (!node.getClientRects().length || node.closest('[hidden], option, .marker-measure, noscript')) continue;
        const style = getComputedStyle(node);
        if (style.visibility === 'hidden') continue;
        let opacity = 1;
        for (let n = node; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
        const back = ground(node);
        const fore = parse(style.color);
        const r = ratio(blend(fore, back, fore[3] * opacity), back);
        const what = `${node.tagName}.${node.className} "${node.textContent.trim().slice(0, 30)}"`;
        if (r < 4.5) failures.push(`${what}: ${r.toFixed(2)}`);
    }
    return failures;
}"""

#: The focused control's ring: drawn, at least 3 px, and 3:1 against the ground around it.
FOCUS_RING = "() => {" + COLOURS + """
    const node = document.activeElement, style = getComputedStyle(node);
    if (node === document.body || node.matches('.leaflet-container')) return [];
    const what = node.tagName + ' ' + (node.textContent || node.getAttribute('aria-label') || '').trim().slice(0, 20);
    if (style.outlineStyle === 'none' || parseFloat(style.outlineWidth) < 3)
        return [`${what}: no ring (${style.outlineStyle} ${style.outlineWidth})`];
    const contrast = ratio(parse(style.outlineColor), ground(node.parentElement));
    return contrast < 3 ? [`${what}: ring contrast ${contrast.toFixed(2)}`] : [];
}"""


@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
def test_texts_keep_their_contrast_and_controls_show_focus(
    live_site: LiveSite, plans: dict[str, int], chromium: Any, night: bool
) -> None:
    errors: list[str] = []
    context, page = open_plan(chromium, live_site, plans["mosque"], LAPTOP, night, errors)
    try:
        page.click("[data-legend-toggle]")
        assert page.evaluate(CONTRAST) == []
        page.goto(live_site.url + f"/r/buildings/{plans['mosque']}")
        assert page.locator(".contact.reach-later").count() == 1  # the office, not open now
        assert page.evaluate(CONTRAST) == []
        screenshot(page, f"layout-card-{'night' if night else 'day'}")
        for url in (f"/r/buildings/{plans['mosque']}", f"/r/buildings/{plans['mosque']}/plan"):
            page.goto(live_site.url + url)
            page.wait_for_load_state()
            faint = []
            for _ in range(24):  # the bar, the floors, zoom, tools, and markers on the plan
                page.keyboard.press("Tab")
                faint += page.evaluate(FOCUS_RING)
            assert faint == [], (url, faint)
    finally:
        context.close()
    assert errors == []
