"""First view in the car: how long an officer waits, and how many bytes cross a poor cellular
link, before the card is readable and before the first plan screen is painted; and the same
plan fetched as its original PDF, for comparison.

A real corpus plan is rendered at the production pixel budget (the app's defaults) into a
temporary instance; the app is served on 127.0.0.1 by werkzeug in a thread; headless
Chromium (Debian's, through Playwright) signs in as an officer and, for every measurement,
starts from a cold HTTP cache with the service worker blocked, the network throttled by a
CDP session (``Network.emulateNetworkConditions``: 1.6 Mbit/s down, 750 kbit/s up, 150 ms
latency).  Bytes are what Chromium reports as received on the wire (``encodedDataLength``:
headers and compressed bodies).

Prints figures, never pass/fail.  Goals from the issue: card < 1 s and < 60 KB; first plan
screen < 2 s and < 250 KB.

    .venv/bin/python bench/firstview.py [--plan plan-university-lab-5sheets-A2-autocad.pdf] [--runs 3]
"""
from __future__ import annotations

import argparse
import io
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from floorplans import tile_urls  # noqa: E402  (the tile URL grammar; nothing of the app runs at import)

CORPUS = ROOT.parent / "shared" / "corpus"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
PASSWORD = "bench password, long enough"
NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
PDF_PATH = "/bench/original.pdf"
BENCH_MARKERS = (
    ("door", 0.5, 0.95, {"number": 1, "side": "A", "label": "Main doors"}),
    ("door", 0.95, 0.4, {"number": 2, "side": "B"}), ("door", 0.05, 0.6, {"number": 3, "side": "D"}),
    ("key_box", 0.46, 0.96, {"label": "Knox box"}), ("fire_alarm_panel", 0.54, 0.9, {}),
    ("aed", 0.4, 0.5, {"label": "AED"}), ("gas_shutoff", 0.02, 0.3, {"label": "Gas meter"}),
    ("electric_shutoff", 0.8, 0.2, {}), ("stairs", 0.3, 0.3, {}), ("rally_point", 0.5, 0.99, {"label": "Rally point"}),
)


def build_site(folder: Path, plan: str) -> tuple[Any, int, int, dict[str, Any]]:
    """A migrated instance with one building, its contacts and gatherings, and ``plan``
    rendered at the production budget.  Returns the app, the officer's id, the building id
    and facts about the rendered plan."""
    from flask_migrate import upgrade

    from floorplans import create_app
    from floorplans.db import db
    from floorplans.jobs import queue_render
    from floorplans.services import accounts, buildings, contacts, gatherings, markers, plans

    app = create_app({
        "INSTANCE_PATH": str(folder / "instance"), "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "STORAGE_URL": str(folder / "storage"), "SECRET_KEY": "bench", "JOBS_IMMEDIATE": True,
    })
    with app.app_context():
        upgrade()
        organisation = accounts.create_organisation({"name": "Masjid Al-Noor Society", "faith_tradition": "Muslim"})
        partner = accounts.create_user(email="partner@bench.local", role="partner", password=PASSWORD,
                                       organisation=organisation, temporary=False)
        officer = accounts.create_user(email="officer@bench.local", role="officer", password=PASSWORD,
                                       temporary=False)
        building = buildings.create_building(organisation, {
            "name": "Masjid Al-Noor", "street": "123 Main Street", "city": "Toronto", "region": "ON",
            "postal_code": "M5V 2T6", "latitude": "43.6455", "longitude": "-79.3951", "capacity": "600",
            "entrances": "Main doors on Main Street (1), accessible door on the east side (2), kitchen door to "
            "the rear lot (3, kept locked).", "key_box": "Knox box left of the main doors, at shoulder height.",
            "shutoff_gas": "Meter on the west wall outside.", "shutoff_electric": "Basement boiler room, NE corner.",
            "shutoff_water": "Basement boiler room, next to the water meter.",
            "alarm_company": "Northside Alarm Monitoring, 416-555-0142", "alarm_panel": "Inside the main doors.",
            "hazards": "Oxygen cylinders in the first-aid room on the ground floor.",
            "notes": "Security volunteers in yellow vests at the main doors during prayers.",
        }, by=partner)
        for values in (
            {"name": "Yusuf Rahman", "role": "Caretaker", "phone": "416-555-0177", "key_holder": True,
             "available_24_7": True, "languages": "English, Urdu"},
            {"name": "Office", "role": "Administrator", "phone": "416-555-0101", "available_days": "01234",
             "available_from": "09:00", "available_until": "17:00", "languages": "English, Arabic"},
            {"name": "Imam Ahmed", "phone": "416-555-0190", "key_holder": True, "languages": "Arabic, English"},
        ):
            contacts.add_contact(building, values)
        for values in (
            {"label": "Friday prayers", "weekday": "4", "start_time": "13:00", "end_time": "14:00",
             "expected_attendance": "400", "children_areas_in_use": True},
            {"label": "Evening prayers", "weekday": "0", "start_time": "19:00", "end_time": "20:00",
             "expected_attendance": "60"},
        ):
            gatherings.add_gathering(building, values)
        version = plans.upload_plan(building, io.BytesIO((CORPUS / plan).read_bytes()), plan, by=partner)
        db.session.commit()
        started = time.monotonic()
        queue_render(version.id)
        db.session.refresh(version)
        assert version.state == "ready", version.error
        for page in version.pages:
            page.hidden = False  # what officers load: every sheet, as before sheets could be hidden
        plans.publish(version, by=partner)  # the partner's review, skipped here
        db.session.commit()
        first = version.pages[0]
        # A partner's usual markers on the first floor: they travel in the page's JSON, and the
        # view loads markers.js, markers.css and the icons' sprite.
        for kind, x, y, extra in BENCH_MARKERS:
            markers.place(first, {"kind": kind, "x": x, "y": y, **extra}, by=partner)
        db.session.commit()
        facts = {
            "render_s": time.monotonic() - started, "pdf_bytes": version.original_bytes, "pages": version.page_count,
            "first_page": f"{first.label}: {first.width}x{first.height} px, max zoom {first.max_zoom}, "
                          f"{first.tiles} tiles, {first.tile_bytes / 1024:.0f} KB",
            "sha256": version.original_sha256,
        }
        return app, officer.id, building.id, facts


def serve(app: Any, pdf: bytes) -> tuple[Any, str]:
    """The app on 127.0.0.1, plus the original PDF at PDF_PATH (bench only: the app never
    serves originals to officers)."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    def with_pdf(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == PDF_PATH:
            return Response(pdf, mimetype="application/pdf")(environ, start_response)
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, with_pdf, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


class Wire:
    """Bytes received per request, from the DevTools protocol."""

    def __init__(self, cdp: Any) -> None:
        self.bytes: dict[str, float] = {}
        self.urls: dict[str, str] = {}
        cdp.on("Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.loadingFinished", lambda e: self.bytes.__setitem__(e["requestId"], e["encodedDataLength"]))

    def reset(self) -> None:
        self.bytes.clear()
        self.urls.clear()

    def total(self) -> float:
        return sum(self.bytes.values())

    def breakdown(self) -> list[tuple[str, float]]:
        rows: dict[str, float] = {}
        for request_id, size in self.bytes.items():
            url = self.urls.get(request_id, "?").split("//", 1)[-1].split("/", 1)[-1]
            key = "tiles" if ("/" + url).startswith(tile_urls.IN_CAR_PREFIX) else url.split("?")[0]
            rows[key] = rows.get(key, 0) + size
        return sorted(rows.items(), key=lambda item: -item[1])


def cold(cdp: Any, wire: Wire) -> None:
    cdp.send("Network.clearBrowserCache")
    wire.reset()


def measure(base: str, building_id: int, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {k: [] for k in (
        "card_paint_ms", "card_load_ms", "card_kb", "plan_ms", "plan_kb", "plan_tiles", "pdf_ms", "pdf_kb",
        "plan_after_card_ms", "plan_after_card_kb")}
    breakdowns: dict[str, list[tuple[str, float]]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for run in range(runs):
            # Service workers blocked: a cold first view, as on a laptop that never opened the view.
            context = browser.new_context(viewport={"width": 1024, "height": 768}, service_workers="block")
            page = context.new_page()
            page.goto(f"{base}/login?next=/account/password")  # the portal: nothing of the in-car view is fetched
            page.fill("#email", "officer@bench.local")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/account/password")
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
            cdp.send("Network.emulateNetworkConditions", NETWORK)
            wire = Wire(cdp)

            cold(cdp, wire)
            page.goto(f"{base}/r/buildings/{building_id}", wait_until="load")
            page.wait_for_timeout(300)  # late loadingFinished events
            paint = page.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0].startTime")
            load = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")
            figures["card_paint_ms"].append(paint)
            figures["card_load_ms"].append(load)
            figures["card_kb"].append(wire.total() / 1024)
            breakdowns["card"] = wire.breakdown()

            # The plan straight from a cold cache (a CAD link to the plan, or a new laptop).
            cold(cdp, wire)
            page.goto(f"{base}/r/buildings/{building_id}/plan")
            page.wait_for_selector("[data-plan][data-ready='0']", timeout=60_000)
            page.wait_for_timeout(300)
            figures["plan_ms"].append(float(page.get_attribute("[data-plan]", "data-ready-at") or "nan"))
            figures["plan_kb"].append(wire.total() / 1024)
            figures["plan_tiles"].append(sum(1 for u in wire.urls.values() if tile_urls.IN_CAR_PREFIX in u))
            breakdowns["plan"] = wire.breakdown()
            if run == 0:  # what the officer sees, to look at (test-artifacts/ is git-ignored)
                (ROOT / "test-artifacts").mkdir(exist_ok=True)
                page.screenshot(path=str(ROOT / "test-artifacts" / "firstview-plan.png"))

            # The usual path: card first, then the plan (CSS and incar.js already cached).
            cold(cdp, wire)
            page.goto(f"{base}/r/buildings/{building_id}", wait_until="load")
            wire.reset()
            page.click("[data-plan-link]")
            page.wait_for_selector("[data-plan][data-ready='0']", timeout=60_000)
            page.wait_for_timeout(300)
            figures["plan_after_card_ms"].append(float(page.get_attribute("[data-plan]", "data-ready-at") or "nan"))
            figures["plan_after_card_kb"].append(wire.total() / 1024)

            # The same plan as its original PDF, over the same link.
            cold(cdp, wire)
            elapsed = page.evaluate(
                """async (url) => { const t = performance.now(); const r = await fetch(url, {cache: 'no-store'});
                   await r.arrayBuffer(); return performance.now() - t; }""", PDF_PATH)
            page.wait_for_timeout(300)
            figures["pdf_ms"].append(elapsed)
            figures["pdf_kb"].append(wire.total() / 1024)
            context.close()
        browser.close()
    for name, rows in breakdowns.items():
        print(f"\n{name} bytes by file (last run): " + ", ".join(f"{url} {size / 1024:.1f} KB" for url, size in rows))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", default="plan-university-lab-5sheets-A2-autocad.pdf",
                        help="a file of ../shared/corpus")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="firstview-") as tmp:
        print(f"Rendering {args.plan} at the production pixel budget...", flush=True)
        app, _officer, building_id, facts = build_site(Path(tmp), args.plan)
        server, base = serve(app, (CORPUS / args.plan).read_bytes())
        try:
            figures = measure(base, building_id, args.runs)
        finally:
            server.shutdown()
    print(f"\n{platform.platform()}, {platform.python_version()}; Chromium at {CHROMIUM}")
    print(f"plan: {args.plan}, {facts['pages']} pages, PDF {facts['pdf_bytes'] / 1024:.0f} KB; first floor "
          f"{facts['first_page']}; rendered in {facts['render_s']:.1f} s")
    print(f"network: {NETWORK['downloadThroughput'] * 8 / 1e6:.1f} Mbit/s down, "
          f"{NETWORK['uploadThroughput'] * 8 / 1e3:.0f} kbit/s up, {NETWORK['latency']} ms latency; "
          f"cold cache, service worker blocked; median of {args.runs} runs (min-max)\n")

    def show(label: str, key: str, unit: str, digits: int = 0) -> None:
        values = figures[key]
        print(f"| {label} | {statistics.median(values):.{digits}f} {unit} | {min(values):.{digits}f}-"
              f"{max(values):.{digits}f} |")

    print("| measurement | median | range |\n|---|---|---|")
    show("card: first paint (readable)", "card_paint_ms", "ms")
    show("card: load event", "card_load_ms", "ms")
    show("card: bytes", "card_kb", "KB", 1)
    show("plan, cold: first screen painted", "plan_ms", "ms")
    show("plan, cold: bytes", "plan_kb", "KB", 1)
    show("plan, cold: tiles fetched", "plan_tiles", "")
    show("plan after the card: first screen painted", "plan_after_card_ms", "ms")
    show("plan after the card: bytes", "plan_after_card_kb", "KB", 1)
    show("original PDF: fetched", "pdf_ms", "ms")
    show("original PDF: bytes", "pdf_kb", "KB", 1)


if __name__ == "__main__":
    main()
