"""A partner uploads plans in a real Chromium and watches them being prepared: the version
page follows the rendering by itself (no reload by hand) and ends on the draft's review,
which the partner publishes,
while a real job worker process renders in the background."""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from floorplans import create_app
from floorplans.db import db
from floorplans.models import Building, Organisation, Role, User
from tests.blueprints.response.conftest import screenshot
from tests.conftest import CORPUS, PASSWORD
from tests.floorplans.test_jobs import Worker

pytestmark = pytest.mark.browser


@pytest.fixture
def portal(tmp_path: Path, sqlite_template: Path, password_hash: str) -> Iterator[dict[str, Any]]:
    shutil.copyfile(sqlite_template, tmp_path / "db.sqlite3")
    config = {
        "TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "STORAGE_URL": str(tmp_path / "storage"),
        "SECRET_KEY": "partner-browser-test", "PAGE_MAX_PIXELS": 4_000_000, "JOBS_IMMEDIATE": False,
    }
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    worker = Worker(config, tmp_path / "worker.log")
    with app.app_context():
        organisation = Organisation(name="St. Mary's Coptic Church", faith_tradition="Christian")
        partner = User(email="caretaker@example.org", role=Role.PARTNER.value, organisation=organisation,
                       password_hash=password_hash)
        building = Building(organisation=organisation, name="St. Mary's", street="5 King St", city="Toronto",
                            search_text="st marys 5 king st toronto")
        db.session.add_all([organisation, partner, building])
        db.session.commit()
        thread.start()
        try:
            yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app, "building_id": building.id,
                   "email": partner.email, "worker": worker, "worker_log": tmp_path / "worker.log"}
        finally:
            if worker.process is not None:
                worker.stop()
            server.shutdown()
            thread.join(10)
            server.server_close()
            db.session.remove()
            db.engine.dispose()


class _Pages:
    """The run's one Chromium (Playwright allows one per process), handing out pages whose
    browser contexts are closed with it."""

    def __init__(self, chromium: Any) -> None:
        self.chromium = chromium
        self.pages: list[Any] = []

    def new_page(self, **options: Any) -> Any:
        page = self.chromium.new_page(**options)
        self.pages.append(page)
        return page

    def close(self) -> None:
        for page in self.pages:
            page.context.close()


def upload_as_partner(browser: Any, portal: dict[str, Any], name: str) -> Any:
    """Sign in as the congregation's partner, upload a corpus plan, and wait on its version page."""
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.set_default_timeout(20_000)
    page.goto(portal["url"] + f"/portal/buildings/{portal['building_id']}/plans")
    page.fill("#email", portal["email"])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.set_input_files("#file", str(CORPUS / name))
    page.click("button:has-text('Upload')")
    page.wait_for_selector("progress[data-progress-bar]")
    return page


def test_partner_uploads_and_the_page_follows_the_rendering(portal: dict[str, Any], chromium: Any) -> None:
    with nullcontext(_Pages(chromium)) as browser:
        try:
            page = upload_as_partner(browser, portal, "plan-university-lab-5sheets-A2-autocad.pdf")
            # The version page while the plan waits in the queue (no worker runs yet).
            assert "Waiting to start" in page.content()
            assert "officers keep seeing the current plans" in page.content()
            portal["worker"].start()  # now a worker process takes the job
            page.wait_for_selector("[data-progress-text]:has-text('Prepared')", timeout=60_000)
            screenshot(page, "partner-plan-progress")
            # Nobody reloads: progress.js polls and reloads itself when the plan is ready: a draft,
            # each sheet named from its own title, the sheets that are not floor plans proposed hidden.
            page.wait_for_selector("text=Check it before officers see it", timeout=120_000)
            assert page.locator("img.preview").count() == 5
            assert page.locator("progress").count() == 0
            names = page.eval_on_selector_all("input[name^=label-]", "inputs => inputs.map(i => i.value)")
            assert names == ["Layout plan", "Demolition plan", "Block wall plan", "Reflected ceiling plan",
                             "Floor finishes plan"]
            shown = page.eval_on_selector_all("input[name^=shown-]", "boxes => boxes.map(b => b.checked)")
            assert shown == [True, False, False, False, False]
            screenshot(page, "partner-plan-ready")
            page.click("button:has-text('Publish: show this plan to officers')")
            page.wait_for_selector("text=is now the plan officers see")
            screenshot(page, "partner-plan-published")
        finally:
            browser.close()
    assert "render_plan" in portal["worker_log"].read_text()


def test_pages_appear_on_the_version_page_as_they_are_stored(portal: dict[str, Any], chromium: Any) -> None:
    """progress.js adds each page's preview once the job has stored it, without a reload."""
    from floorplans.models import PlanVersion, VersionState
    from floorplans.services import rendering

    with nullcontext(_Pages(chromium)) as browser:
        try:
            page = upload_as_partner(browser, portal, "plan-assembly-hall-raster-5pages-mixed-sizes.pdf")
            version_url = page.url
            with portal["app"].app_context():
                # Rendered here, then put back to the state the job leaves after storing page 1.
                [version] = db.session.query(PlanVersion).all()
                rendering.render_version(version.id)
                pages = sorted(version.pages, key=lambda p: p.number)
                version.state, version.tiles_done = VersionState.RENDERING.value, pages[0].tiles
                db.session.commit()
                page.goto(version_url)
                assert page.locator("td[data-preview-page] img.preview").count() == 1  # page 1, from the server
                version.tiles_done = pages[0].tiles + pages[1].tiles  # the job stores page 2
                db.session.commit()
                page.wait_for_selector('td[data-preview-page="2"] img.preview', timeout=10_000)
                page.wait_for_function(
                    "document.querySelector('td[data-preview-page=\"2\"] img').naturalWidth > 0"
                )
                assert page.locator("td[data-preview-page] img.preview").count() == 2
                assert page.locator("progress").count() == 1  # still being prepared, no reload
                page.locator("table.pages").scroll_into_view_if_needed()
                screenshot(page, "partner-plan-pages-as-stored")
                version.state = VersionState.READY.value
                db.session.commit()
            page.wait_for_selector("text=Check it before officers see it", timeout=20_000)
            assert page.locator("img.preview").count() == 5
        finally:
            browser.close()
