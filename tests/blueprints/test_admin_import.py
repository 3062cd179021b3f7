"""The admin's CSV import pages: upload, a preview that changes nothing, confirm; both run
as a job (here at once: JOBS_IMMEDIATE) whose state the page shows."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from floorplans.db import db
from floorplans.models import AuditEvent, Building, Organisation, Role, User
from tests.floorplans import test_reminders
from tests.import_data import messy_csv

# The real SMTP server on loopback the reminders' tests use.
mailbox = test_reminders.mailbox
smtp_config = test_reminders.smtp_config


@pytest.fixture(autouse=True)
def jobs_at_once(app_config: dict[str, Any]) -> None:
    app_config["JOBS_IMMEDIATE"] = True


def _count(model: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _upload(browser, data: bytes, name: str = "places.csv"):  # type: ignore[no-untyped-def]
    return browser.post("/admin/import", {"file": (io.BytesIO(data), name)})


def _followed(browser, response):  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser.get(response.headers["Location"])


def test_upload_previews_line_by_line_then_confirm_imports(browser_for, make_user) -> None:
    admin = make_user(Role.ADMIN)
    browser = browser_for(admin)
    assert "Import buildings from CSV" in browser.get("/admin/").get_data(as_text=True)
    data, expected = messy_csv(80)

    uploaded = _upload(browser, data)
    token = re.fullmatch(r"/admin/import/([0-9a-f]{32})", uploaded.headers["Location"]).group(1)
    preview = _followed(browser, uploaded)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page
    assert f"<strong>{expected.buildings}</strong> buildings to create" in page
    assert f"<strong>{len(expected.rejected)}</strong> rejected" in page
    assert "Ignored columns: Ward, OBJECTID." in page
    assert "UTF-8 with byte-order mark, semicolon-separated" in page
    for number in expected.rejected:
        assert f'<td data-label="Line">{number}</td>' in page
    assert "latitude: must be at most 90" in page
    assert _count(Building) == 0 and _count(Organisation) == 0  # a preview changes nothing
    assert browser.get(f"/admin/import/{token}/progress").get_json() == {
        "kind": "preview", "state": "done", "done": expected.buildings + len(expected.rejected),
        "total": expected.buildings + len(expected.rejected)}

    done = _followed(browser, browser.post(f"/admin/import/{token}/confirm", {"invite": "1"}))
    page = done.get_data(as_text=True)
    assert done.status_code == 200, page
    assert f"<strong>{expected.buildings}</strong> buildings created" in page
    assert _count(Building) == expected.buildings
    assert db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.PARTNER.value)) \
        == expected.partners
    summary = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "buildings.import"))
    assert summary.actor_id == admin.id and summary.channel == "job" and summary.detail["created"] == expected.buildings
    creations = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "building.create")).all()
    assert len(creations) == expected.buildings and {e.actor_id for e in creations} == {admin.id}

    # The same confirmation again imports nothing twice; the same file again changes nothing.
    twice = _followed(browser, browser.post(f"/admin/import/{token}/confirm", {}))
    assert "is being imported or was imported already" in twice.get_data(as_text=True)
    assert _count(Building) == expected.buildings
    # (with one line giving a congregation on record another faith tradition)
    other_faith = data.replace("Diocèse 0;Christian".encode(), "Diocèse 0;Muslim".encode(), 1)
    again = _followed(browser, _upload(browser, other_faith)).get_data(as_text=True)
    assert "<h2>To check</h2>" in again and "Diocèse 0 is Christian on record; the file&#39;s &#39;Muslim&#39;" in again
    assert "<strong>0</strong> buildings to create" in again
    assert f"<strong>{expected.buildings}</strong> unchanged" in again


def test_a_file_that_cannot_be_read_is_refused_on_the_form(browser_for, make_user) -> None:
    browser = browser_for(make_user(Role.ADMIN))
    refused = _upload(browser, b"Name;Town\nA;B\n", "list.csv")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "list.csv has no &#39;street&#39; and &#39;city&#39; columns: the first line must name" in page
    assert "choose it again" in page
    assert browser.post("/admin/import", {}).status_code == 422
    assert browser.get("/admin/import/0123456789abcdef0123456789abcdef").status_code == 404
    assert browser.post("/admin/import/..%2F..%2Fetc/confirm", {}).status_code == 404


def test_only_administrators_import(browser_for, make_user) -> None:
    for role in (Role.PARTNER, Role.OFFICER, Role.PLANNER):
        browser = browser_for(make_user(role))
        assert browser.get("/admin/import").status_code == 403
        assert _upload(browser, messy_csv(5)[0]).status_code == 403
    assert _count(Building) == 0


@pytest.fixture
def queued(app_config: dict[str, Any]) -> None:
    app_config["JOBS_IMMEDIATE"] = False  # after jobs_at_once: the job waits for a worker


def test_the_page_follows_a_job_that_a_real_worker_runs(queued, app, browser_for, make_user) -> None:
    from floorplans.jobs import get_jobs

    browser = browser_for(make_user(Role.ADMIN))
    data, expected = messy_csv(120)
    uploaded = _upload(browser, data)
    waiting = _followed(browser, uploaded).get_data(as_text=True)
    assert "Waiting to start…" in waiting and "js/progress.js" in waiting
    progress_url = re.search(r'data-progress-url="([^"]+)"', waiting).group(1)
    assert browser.get(progress_url).get_json()["state"] == "queued"

    consumer = get_jobs().huey.create_consumer(workers=1, worker_type="thread", periodic=False, max_delay=0.2)
    consumer.start()  # huey's own consumer, in threads of this process
    try:
        deadline = time.monotonic() + 120
        while (job := browser.get(progress_url).get_json())["state"] != "done":
            assert job["state"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.2)
    finally:
        consumer.stop(graceful=True)
    page = browser.get(uploaded.headers["Location"]).get_data(as_text=True)
    assert f"<strong>{expected.buildings}</strong> buildings to create" in page
    assert "progress.js" not in page and _count(Building) == 0


def test_confirming_with_invitations_mails_each_new_partner_once_imported(
    smtp_config, browser_for, make_user
) -> None:
    from tests.blueprints.test_account_links import link_in

    browser = browser_for(make_user(Role.ADMIN, name="Service Admin"))
    data = (b"name,street,city,organisation,faith_tradition,partner_email\n"
            b"Beth Shalom,1 King St,Toronto,Beth Shalom Congregation,Jewish,rabbi@bethshalom.example\n"
            b"Masjid Al-Noor,9 Elm St,Oakville,,Muslim,imam@alnoor.example\n")
    uploaded = _upload(browser, data)
    preview = _followed(browser, uploaded).get_data(as_text=True)
    assert "Invite the 2 new partners by e-mail" in preview
    assert not smtp_config.messages  # a preview invites nobody
    done = _followed(browser, browser.post(uploaded.headers["Location"] + "/confirm", {"invite": "1"}))
    assert "2 new partners invited by e-mail." in done.get_data(as_text=True)
    assert sorted(rcpt[0] for rcpt, _ in smtp_config.messages) == ["imam@alnoor.example", "rabbi@bethshalom.example"]
    assert link_in(smtp_config, "imam@alnoor.example").startswith("/invitation/")
