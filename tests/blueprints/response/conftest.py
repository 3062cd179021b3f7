"""Fixtures for the in-car view's browser tests: the app served by a real HTTP server on
127.0.0.1 (werkzeug, in a thread), corpus plans really rendered (at a small pixel budget),
and a real headless Chromium driven by Playwright.

SQLite only: the browser tests check the view, the database paths are checked elsewhere on
both engines.  Everything here is module-scoped so the plans render once per module.
"""

from __future__ import annotations

import io
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from floorplans import create_app
from floorplans.db import db, utcnow
from floorplans.models import Building, Organisation, Role, User
from tests.conftest import CORPUS, PASSWORD, publish_reviewed

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run",
]


@dataclass
class LiveSite:
    app: Flask
    url: str
    users: dict[str, User] = field(default_factory=dict)
    buildings: dict[str, Building] = field(default_factory=dict)

    def db(self) -> Any:
        """An app context for assertions in the test body (the server has its own per request)."""
        return self.app.app_context()


def _upload(building: Building, pdf: str, by: User, labels: list[str] | None = None,
            order: list[int] | None = None) -> None:
    from floorplans.jobs import queue_render
    from floorplans.services import plans

    version = plans.upload_plan(building, io.BytesIO((CORPUS / pdf).read_bytes()), pdf, by=by)
    if labels:
        by_number = {p.number: p.id for p in version.pages}
        plans.update_pages(version, {p.id: label for p, label in zip(version.pages, labels, strict=True)},
                           [by_number[n] for n in order or []])
    queue_render(version.id)  # JOBS_IMMEDIATE: renders once committed, a draft
    db.session.commit()
    publish_reviewed(version, by)


def _populate(site: LiveSite, password_hash: str) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from floorplans.models import Contact, Gathering
    from floorplans.search import normalise

    organisation = Organisation(name="Masjid Al-Noor Society", faith_tradition="Muslim")
    db.session.add(organisation)
    for name, role in (("officer", Role.OFFICER), ("next_shift", Role.OFFICER), ("partner", Role.PARTNER)):
        user = User(email=f"{name}-{uuid.uuid4().hex[:6]}@example.org", role=role.value,
                    organisation=organisation if role is Role.PARTNER else None, password_hash=password_hash)
        db.session.add(user)
        site.users[name] = user
    now = dt.datetime.now(ZoneInfo(site.app.config["TIMEZONE"]))
    start = (now - dt.timedelta(minutes=20)).time().replace(second=0, microsecond=0)
    end = (now + dt.timedelta(minutes=100)).time().replace(second=0, microsecond=0)
    mosque = Building(
        organisation=organisation, name="Masjid Al-Noor", street="123 Main Street", city="Toronto", region="ON",
        postal_code="M5V 2T6", latitude=43.6455, longitude=-79.3951, capacity=600,
        entrances="Main doors on Main Street (1); accessible door east side (2); kitchen door rear lot (3, locked).",
        key_box="Knox box left of the main doors, shoulder height.",
        shutoff_gas="Meter on the west wall outside.", shutoff_electric="Basement boiler room, north-east corner.",
        shutoff_water="Basement boiler room, by the water meter.", alarm_company="Northside Alarm, 416-555-0142",
        alarm_panel="Inside the main doors, on the right.",
        hazards="Oxygen cylinders in the first-aid room, ground floor.",
        notes="Security volunteers in yellow vests at the main doors during prayers.",
        last_verified_at=utcnow() - dt.timedelta(days=12),
    )
    chapel = Building(
        organisation=organisation, name="Al-Noor Youth Centre", street="9 Elm Street", city="Toronto", region="ON",
        latitude=43.6600, longitude=-79.3900, last_verified_at=utcnow() - dt.timedelta(days=400),
    )
    for building in (mosque, chapel):
        address = f"{building.street} {building.city} {building.postal_code or ''}"
        building.search_text = normalise(f"{building.name} {address}")
    db.session.add_all([mosque, chapel])
    db.session.add_all([
        Gathering(building=mosque, label="Friday prayers", on_date=(now - dt.timedelta(minutes=20)).date(),
                  start_time=start, end_time=end,
                  expected_attendance=400, children_areas_in_use=True),
        Contact(building=mosque, position=1, name="Office", role="Administrator", phone="416-555-0101",
                available_days="", available_from=(now + dt.timedelta(hours=3)).time().replace(second=0, microsecond=0),
                available_until=(now + dt.timedelta(hours=4)).time().replace(second=0, microsecond=0),
                languages="English, Arabic"),
        Contact(building=mosque, position=2, name="Yusuf Rahman", role="Caretaker", phone="416-555-0177",
                key_holder=True, available_24_7=True, languages="English, Urdu"),
    ])
    for name, building in (("mosque", mosque), ("chapel", chapel)):
        site.buildings[name] = building
    db.session.commit()
    partner = site.users["partner"]
    # The partner's labels, and an order of their own: the last sheet first.
    _upload(mosque, "plan-assembly-hall-raster-5pages-mixed-sizes.pdf", partner,
            ["First floor", "Second floor", "Third floor", "Fourth floor", "Basement"], order=[5, 1, 2, 3, 4])
    _upload(chapel, "plan-conference-centre-lecture-halls-A4-vector.pdf", partner, ["Main hall"])
    for building in site.buildings.values():
        db.session.refresh(building)
        assert building.published_version is not None, "the corpus plan did not render"


@pytest.fixture(scope="module")
def live_site(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, password_hash: str
) -> Iterator[LiveSite]:
    folder = tmp_path_factory.mktemp("live")
    shutil.copyfile(sqlite_template, folder / "db.sqlite3")
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "STORAGE_URL": str(folder / "storage"),
        "SECRET_KEY": "browser-test-secret",
        # Small pyramids render in seconds; the viewer does not care about the resolution.
        "PAGE_MAX_PIXELS": 4_000_000,
        "RENDER_WORKERS": 2,
        "JOBS_IMMEDIATE": True,
    })
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-site", daemon=True)
    site = LiveSite(app=app, url=f"http://127.0.0.1:{server.server_port}")
    with app.app_context():
        _populate(site, password_hash)
        thread.start()
        try:
            yield site
        finally:
            server.shutdown()
            thread.join(10)
            server.server_close()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def car(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile the size of the in-car laptop's screen, located in Toronto."""
    context = chromium.new_context(
        viewport={"width": 1024, "height": 768}, geolocation={"latitude": 43.6450, "longitude": -79.3960},
        permissions=["geolocation"], locale="en-CA", timezone_id="America/Toronto",
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def sign_in(page: Any, site: LiveSite, user: User, next_url: str) -> None:
    """Open ``next_url`` signed out, sign in on the form it leads to, land on ``next_url``."""
    page.goto(site.url + next_url)
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
