"""Quotas: uploads per congregation per hour, print packets per account per minute and per
web process at once; a 429 with the limit in words and a Retry-After header (a page on the
web, JSON on the API); counters shared through the database, exact under real threads on
SQLite and PostgreSQL."""

from __future__ import annotations

import io
import threading
from typing import Any

import pymupdf
import pytest
from flask import Flask

from floorplans import create_app
from floorplans.db import db
from floorplans.models import Role
from floorplans.services import exports as export_service
from floorplans.services import quotas


@pytest.fixture
def quota_clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The quotas' wall clock in milliseconds, moved by the test (``quota_clock[0] += ...``)."""
    now = [quotas.now_ms()]
    monkeypatch.setattr(quotas, "now_ms", lambda: now[0])
    return now


@pytest.fixture
def two_uploads_an_hour(app_config: dict[str, Any]) -> None:
    app_config["UPLOADS_PER_HOUR"] = 2


@pytest.fixture
def two_packets_a_minute(app_config: dict[str, Any]) -> None:
    app_config["PACKETS_PER_MINUTE"] = 2


def one_page_pdf() -> bytes:
    document = pymupdf.open()
    page = document.new_page(width=612, height=792)
    page.insert_text((72, 72), "Ground floor")
    return document.tobytes()


def upload_web(browser: Any, building_id: int) -> Any:
    return browser.post(f"/portal/buildings/{building_id}/plans", {"file": (io.BytesIO(one_page_pdf()), "plan.pdf")},
                        content_type="multipart/form-data")


def upload_api(client: Any, headers: dict[str, str], building_id: int) -> Any:
    return client.post(f"/api/v1/buildings/{building_id}/plans", headers=headers,
                       data={"file": (io.BytesIO(one_page_pdf()), "plan.pdf")}, content_type="multipart/form-data")


@pytest.mark.slow  # validates uploads in child processes
def test_uploads_per_congregation_per_hour(two_uploads_an_hour, app, quota_clock, make_organisation, make_user,
                                           make_building, browser_for, api_token) -> None:  # type: ignore[no-untyped-def]
    congregation = make_organisation()
    partner, colleague = make_user(Role.PARTNER, congregation), make_user(Role.PARTNER, congregation)
    building = make_building(congregation)
    web = browser_for(partner)
    assert upload_web(web, building.id).status_code == 302
    assert upload_web(web, building.id).status_code == 302

    refused = upload_web(web, building.id)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert "plans can be uploaded 2 times an hour for each congregation" in page
    assert "Try again in 30 minutes; nothing was uploaded this time." in page
    assert refused.headers["Retry-After"] == "1800"

    # Another account of the same congregation shares the budget, through the API too.
    api = app.test_client()
    over = upload_api(api, api_token(colleague), building.id)
    assert over.status_code == 429 and over.headers["Retry-After"] == "1800"
    assert over.get_json() == {"error": "Too many uploads: plans can be uploaded 2 times an hour for each "
                                        "congregation. Try again in 30 minutes; nothing was uploaded this time."}

    # Another congregation is not held back, nor is an administrator (their own budget).
    other = make_user(Role.PARTNER)
    assert upload_api(api, api_token(other), make_building(other.organisation).id).status_code == 202
    admin = make_user(Role.ADMIN)
    assert upload_api(api, api_token(admin), building.id).status_code == 202

    # Half an hour later one upload is back, not two.
    quota_clock[0] += 1_800_000
    assert upload_api(api, api_token(colleague), building.id).status_code == 202
    assert upload_web(web, building.id).status_code == 429


def test_packets_per_account_per_minute(two_packets_a_minute, app, quota_clock, make_user, make_building, browser_for,
                                        api_token) -> None:  # type: ignore[no-untyped-def]
    building = make_building()
    officer = make_user(Role.OFFICER)
    web = browser_for(officer)
    web.get(f"/r/buildings/{building.id}/export")  # the form's CSRF token
    url = f"/r/buildings/{building.id}/export/packet.pdf"
    for _ in range(2):
        made = web.post(url, {"paper": "letter"})
        assert made.status_code == 200 and made.mimetype == "application/pdf"

    refused = web.post(url, {"paper": "letter"})
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert refused.headers["Retry-After"] == "30"
    assert "each account can make 2 a minute. Try again in 30 seconds." in refused.get_data(as_text=True)
    api = app.test_client()
    over = api.get(f"/api/v1{url.removeprefix('/r')}", headers=api_token(officer))
    assert over.status_code == 429 and over.headers["Retry-After"] == "30"
    assert "each account can make 2 a minute" in over.get_json()["error"]

    # Someone else prints meanwhile; the officer again once a share of the minute is back.
    colleague = make_user(Role.OFFICER)
    assert api.get(f"/api/v1{url.removeprefix('/r')}", headers=api_token(colleague)).status_code == 200
    quota_clock[0] += 30_000
    assert web.post(url, {"paper": "letter"}).status_code == 200
    assert web.post(url, {"paper": "letter"}).status_code == 429


def test_one_process_prepares_at_most_packets_at_once(app, make_user, make_building, api_token,
                                                      monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Real threads: while one packet is being drawn (held here), a second request to the same
    process is told to come back; the slot frees when the first ends, even on an error."""
    assert app.config["PACKETS_AT_ONCE"] == 1
    building = make_building()
    first, second = make_user(Role.OFFICER), make_user(Role.OFFICER)
    headers_first, headers_second = api_token(first), api_token(second)
    drawing, finish = threading.Event(), threading.Event()
    real_packet = export_service.packet_download

    def slow_packet(*args: Any, **kwargs: Any) -> Any:
        drawing.set()
        assert finish.wait(30)
        return real_packet(*args, **kwargs)

    monkeypatch.setattr(export_service, "packet_download", slow_packet)
    url = f"/api/v1/buildings/{building.id}/export/packet.pdf"
    answers: list[int] = []
    worker = threading.Thread(target=lambda: answers.append(app.test_client().get(url, headers=headers_first)
                                                            .status_code))
    worker.start()
    try:
        assert drawing.wait(30)
        busy = app.test_client().get(url, headers=headers_second)
        assert busy.status_code == 429 and busy.headers["Retry-After"] == "20"
        assert busy.get_json()["error"] == ("The service is preparing 1 print packet right now, the most it makes "
                                            "at once. Try again in 20 seconds.")
    finally:
        finish.set()
        worker.join(60)
    assert answers == [200]
    monkeypatch.setattr(export_service, "packet_download", real_packet)
    assert app.test_client().get(url, headers=headers_second).status_code == 200
    # A packet that fails frees its slot too.
    assert app.test_client().get(url + "?paper=legal", headers=headers_second).status_code == 422
    assert app.test_client().get(url, headers=headers_second).status_code == 200


def test_concurrent_uses_never_pass_the_limit(app: Flask) -> None:
    """20 threads, each its own connection, at the same instant on one key: exactly the limit
    gets through (SQLite serialises the statement, PostgreSQL re-checks the updated row)."""
    limit = quotas.Limit(uses=5, period_ms=60_000)
    start = threading.Barrier(20)
    results: list[int] = []
    lock = threading.Lock()

    def use(key: str) -> None:
        with app.app_context():
            start.wait(10)
            wait = quotas.take(key, limit)
            db.session.commit()
            db.session.remove()
            with lock:
                results.append(wait)

    threads = [threading.Thread(target=use, args=("packet:user:1" if i % 2 else "packet:user:2",))
               for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 20
    assert results.count(0) == 10  # five for each of the two keys
    assert all(0 < wait <= 60 for wait in results if wait)


def test_wrong_quota_settings_stop_the_app(app_config) -> None:  # type: ignore[no-untyped-def]
    for name, value in (("UPLOADS_PER_HOUR", 0), ("PACKETS_PER_MINUTE", -3), ("PACKETS_AT_ONCE", "two"),
                        ("UPLOADS_PER_HOUR", 2.5)):
        with pytest.raises(RuntimeError, match=f"A quota setting is wrong: {name}"):
            create_app({**app_config, name: value})
