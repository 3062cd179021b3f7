"""An administrator imports a city's list in a real Chromium while a real job worker process
runs the preview and the import: the page follows each job by itself (its script under the
site's Content-Security-Policy) and ends on the report."""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from floorplans import create_app
from floorplans.db import db
from floorplans.models import Building, Role, User
from tests.blueprints.response.conftest import screenshot
from tests.conftest import PASSWORD
from tests.floorplans.test_jobs import Worker
from tests.import_data import messy_csv

pytestmark = pytest.mark.browser


@pytest.fixture
def service(tmp_path: Path, sqlite_template: Path, password_hash: str) -> Iterator[dict[str, Any]]:
    shutil.copyfile(sqlite_template, tmp_path / "db.sqlite3")
    config = {
        "TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "STORAGE_URL": str(tmp_path / "storage"),
        "SECRET_KEY": "import-browser-test", "JOBS_IMMEDIATE": False, "TWO_FACTOR_REQUIRED_ROLES": [],
    }
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    worker = Worker(config, tmp_path / "worker.log")
    with app.app_context():
        db.session.add(User(email="admin@police.example", role=Role.ADMIN.value, password_hash=password_hash))
        db.session.commit()
        thread.start()
        try:
            yield {"url": f"http://127.0.0.1:{server.server_port}", "worker": worker}
        finally:
            if worker.process is not None:
                worker.stop()
            server.shutdown()
            thread.join(10)
            server.server_close()
            db.session.remove()
            db.engine.dispose()


def test_the_import_pages_follow_the_jobs_by_themselves(service: dict[str, Any], chromium: Any, tmp_path) -> None:
    data, expected = messy_csv(300)
    csv = tmp_path / "ville-lieux-de-culte.csv"
    csv.write_bytes(data)
    page = chromium.new_page(viewport={"width": 1024, "height": 768})
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    try:
        page.set_default_timeout(20_000)
        page.goto(service["url"] + "/admin/import")
        page.fill("#email", "admin@police.example")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(service["url"] + "/admin/import")
        page.set_input_files("#file", str(csv))
        page.click("button:has-text('Preview')")
        page.wait_for_selector("progress[data-progress-bar]")
        assert "Waiting to start" in page.content()  # no worker runs yet
        service["worker"].start()
        # Nobody reloads: progress.js polls and reloads when the preview is ready.
        page.wait_for_selector("h1:has-text('Preview of')", timeout=120_000)
        screenshot(page, "admin-import-preview")
        assert f"{expected.buildings}</strong> buildings to create" in page.content()
        assert page.locator("progress").count() == 0
        page.click("button:has-text('Import')")
        page.wait_for_selector("h1:has-text('Imported')", timeout=120_000)
        assert f"{expected.buildings}</strong> buildings created" in page.content()
        assert db.session.scalar(select(func.count(Building.id))) == expected.buildings
        assert refused == []
    finally:
        page.context.close()
