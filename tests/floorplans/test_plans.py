"""The whole path of a plan: upload -> validation -> job -> tiles -> publish -> tile GET,
on a local folder and on a real S3 HTTP endpoint, and what happens when any step fails."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from converters import isolation
from floorplans import objects
from floorplans.config import apply_settings
from floorplans.db import db
from floorplans.models import Building, PlanVersion, Role, VersionState
from floorplans.services import rendering
from tests.conftest import publish_reviewed
from tests.floorplans.conftest import corpus

# Each upload is validated and rendered in child processes.
pytestmark = [pytest.mark.usefixtures("fast_render"), pytest.mark.slow]


def upload(browser, building: Building, name: str, data: bytes | None = None) -> Any:
    payload = data if data is not None else corpus(name).read_bytes()
    return browser.post(
        f"/portal/buildings/{building.id}/plans",
        {"file": (io.BytesIO(payload), name)},
        content_type="multipart/form-data",
    )


def latest_version(building: Building) -> PlanVersion:
    db.session.expire_all()
    return db.session.scalars(
        select(PlanVersion).where(PlanVersion.building_id == building.id).order_by(PlanVersion.number.desc())
    ).first()


def queued_version(app, building: Building, by, name: str) -> PlanVersion:  # type: ignore[no-untyped-def]
    """A corpus plan uploaded through the service and left in the queue: the test runs its job."""
    from floorplans.services import plans

    app.config["JOBS_IMMEDIATE"] = False
    with corpus(name).open("rb") as stream:
        version = plans.upload_plan(building, stream, name, by=by)
    db.session.commit()
    return version


def test_upload_to_tiles_to_officer(storage_backend, app, browser_for, make_user, make_building, api_token) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="Sayles Hall")
    response = upload(browser_for(partner), building, "plan-assembly-hall-raster-5pages-mixed-sizes.pdf")
    assert response.status_code == 302
    version = latest_version(building)
    assert version.state == VersionState.READY, version.error
    assert version.page_count == 5 and version.pages_done == 5
    assert version.tiles_done == version.tiles_total > 0
    db.session.refresh(building)
    assert building.published_version_id is None  # a draft until its partner publishes it
    publish_reviewed(version, partner)
    assert building.published_version_id == version.id

    client = browser_for(make_user(Role.OFFICER)).client
    record = client.get(f"/api/v1/buildings/{building.id}", headers=api_token(make_user(Role.OFFICER))).get_json()
    pages = record["plan"]["pages"]
    assert [p["number"] for p in pages] == [1, 2, 3, 4, 5]
    first = pages[0]
    assert first["max_zoom"] >= 2 and first["tile_size"] == 256 and first["kind"] == "scan"
    assert first["width"] < first["height"]  # portrait pages stay portrait

    url = first["tile_url"].format(z=first["max_zoom"], x=0, y=0)
    tile = client.get(url)
    assert tile.status_code == 200
    assert tile.data[:4] == b"RIFF" and tile.data[8:12] == b"WEBP"
    assert tile.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    again = client.get(url, headers={"If-None-Match": tile.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(first["tile_url"].format(z=0, x=5, y=5)).status_code == 404
    overview = client.get(first["overview_url"])
    assert overview.status_code == 200 and overview.mimetype == "image/webp"

    # Every tile the manifest promises is in storage, and the manifest was written.
    store = objects.get_storage()
    manifest = json.loads(store.get(objects.manifest_key(version.key, 1)))
    assert manifest["tiles"] == version.pages[0].tiles and manifest["width"] == first["width"]
    stored = [k for k in store.list(objects.page_prefix(version.key, 1)) if k.endswith(".webp")]
    assert len(stored) == manifest["tiles"] + 1  # and the overview


def test_tiles_are_access_checked(app, browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    upload(browser_for(partner), building, "plan-university-hall-floor1-legal-rot90-vector.pdf")
    version = publish_reviewed(latest_version(building), partner)
    url = f"/r/tiles/{version.key}/1/0/0/0.webp"
    assert browser_for(make_user(Role.OFFICER)).get(url).status_code == 200
    assert browser_for(make_user(Role.PARTNER)).get(url).status_code == 404  # another congregation
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    assert browser_for(partner).get(f"/r/tiles/{'f' * 32}/1/0/0/0.webp").status_code == 404


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad-encrypted-user-password.pdf", "password"),
        ("bad-fuzzed-unopenable.pdf", "PDF"),
        ("bad-page-tree-cycle.pdf", "page 1"),
        ("bad-huge-page-49000x127pt-fuzz.pdf", "pixels a side"),  # a damaged JPEG, despite its name
    ],
)
def test_hostile_uploads_are_refused_and_change_nothing(app, browser_for, make_user, make_building, name, message):
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    upload(browser, building, "plan-university-hall-floor1-legal-rot90-vector.pdf")
    published = publish_reviewed(latest_version(building), partner)
    response = upload(browser, building, name)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message.lower() in page.lower()
    assert latest_version(building).id == published.id  # no version was even created
    db.session.refresh(building)
    assert building.published_version_id == published.id


def test_not_a_pdf_under_a_pdf_name_and_a_hostile_file_name(app, browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    for data in (b"<html><script>alert(1)</script></html>", b"\x89PNG\r\n\x1a\n" + b"0" * 100, b""):
        response = upload(browser, building, "<script>alert(1)</script>.pdf", data)
        assert response.status_code == 422
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert latest_version(building) is None
    # A good file with a hostile name: stored under its hash, the name only ever shown escaped.
    evil = "../../<img src=x onerror=alert(1)>.pdf"
    assert upload(browser, building, evil, corpus("plan-university-hall-floor1-legal-rot90-vector.pdf").read_bytes())
    version = latest_version(building)
    assert version.original_filename == "<img src=x onerror=alert(1)>.pdf"
    listing = browser.get(f"/portal/buildings/{building.id}/plans").get_data(as_text=True)
    assert "<img src=x" not in listing and "&lt;img src=x onerror=alert(1)&gt;.pdf" in listing
    assert objects.get_storage().exists(objects.original_key(version.original_sha256))


def test_api_upload_answers_202_and_reports_progress(app, make_user, make_building, api_token) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    client = app.test_client()
    headers = api_token(partner)
    pdf = corpus("plan-auditorium-event-layout-letter-mixed.pdf").read_bytes()
    response = client.post(
        f"/api/v1/buildings/{building.id}/plans",
        headers=headers,
        data={"file": (io.BytesIO(pdf), "auditorium.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/plans/{body['id']}"
    followed = client.get(response.headers["Location"], headers=headers).get_json()
    assert followed["state"] == "ready" and followed["status"] == "draft" and followed["published"] is False
    assert followed["progress"]["percent"] == 100
    bad = client.post(
        f"/api/v1/buildings/{building.id}/plans",
        headers=headers,
        data={"file": (io.BytesIO(b"GIF89a"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "PDF" in bad.get_json()["error"]
    missing = client.post(f"/api/v1/buildings/{building.id}/plans", headers=headers, data={})
    assert missing.status_code == 422 and "'file'" in missing.get_json()["error"]


def test_a_render_that_hangs_fails_the_version_and_keeps_the_published_plan(
    app, browser_for, make_user, make_building, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    upload(browser, building, "plan-university-hall-floor1-legal-rot90-vector.pdf")
    published = publish_reviewed(latest_version(building), partner)
    # The corpus's hanging file is refused at validation now (it hangs MuPDF reading the
    # page); a file that validates and then hangs the renderer is made by the workers' hook.
    monkeypatch.setattr(isolation, "TEST_HOOK", "hang_pages")
    app.config["RENDER_PAGE_SECONDS"] = 3  # after the first upload: a loaded machine may take that long
    apply_settings(app)
    upload(browser, building, "plan-university-hall-floor1-legal-rot90-vector.pdf")
    failed = latest_version(building)
    assert failed.state == VersionState.FAILED
    assert "took longer than" in failed.error
    db.session.refresh(building)
    assert building.published_version_id == published.id
    page = browser.get(f"/portal/buildings/{building.id}/plans/{failed.id}").get_data(as_text=True)
    assert "could not be prepared" in page and "Nothing changed for officers" in page and "Upload again" in page
    assert browser.get(f"/r/tiles/{published.key}/1/0/0/0.webp").status_code == 200  # still serving


@pytest.fixture
def on_s3(app_config: dict[str, Any], s3_bucket: tuple[str, str]) -> None:
    app_config["STORAGE_URL"] = f"s3://{s3_bucket[1]}/faults"
    app_config["JOBS_IMMEDIATE"] = False  # the test runs the job itself


def test_storage_failing_mid_publish_shows_nothing_half_done_and_a_retry_completes(
    on_s3, app, browser_for, make_user, make_building
) -> None:
    from tests.fixtures_s3 import fake_response, s3_error_body

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    assert upload(browser, building, "plan-conference-centre-lecture-halls-A4-vector.pdf").status_code == 302
    version = latest_version(building)
    assert version.state == VersionState.QUEUED

    client = objects.get_storage().client
    puts = {"count": 0}

    def fail_after_some_tiles(request: Any, **_: Any) -> Any:
        if request.method == "PUT":
            puts["count"] += 1
            if puts["count"] > 15:
                return fake_response(request.url, 403, s3_error_body("AccessDenied", "Access Denied"))
        return None

    client.meta.events.register("before-send.s3.PutObject", fail_after_some_tiles)
    with pytest.raises(rendering.RetryLater):
        rendering.render_version(version.id)
    client.meta.events.unregister("before-send.s3.PutObject", fail_after_some_tiles)

    version = latest_version(building)
    assert puts["count"] > 15
    assert version.state == VersionState.QUEUED and "could not be saved" in version.error
    db.session.refresh(building)
    assert building.published_version_id is None
    assert not objects.get_storage().exists(objects.manifest_key(version.key, 1))
    officer = browser_for(make_user(Role.OFFICER))
    assert officer.get(f"/r/tiles/{version.key}/1/0/0/0.webp").status_code == 404
    assert officer.get(f"/api/v1/plans/{version.id}").status_code == 404  # not published: not the officer's
    assert browser.get(f"/api/v1/plans/{version.id}").get_json()["state"] == "queued"

    finished = rendering.render_version(version.id)  # what huey's retry does
    assert finished is not None and finished.state == VersionState.READY
    publish_reviewed(finished, partner)
    db.session.refresh(building)
    assert building.published_version_id == version.id
    assert officer.get(f"/r/tiles/{version.key}/1/0/0/0.webp").status_code == 200
    assert version.attempts == 2


def test_pages_are_stored_while_the_next_ones_render(app, make_user, make_building) -> None:
    """Storing overlaps rendering: the first page of an upload is in storage, manifest and
    all, while its later pages are still being rendered, and nothing is published until the
    last page is stored."""

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version = queued_version(app, building, partner, "plan-assembly-hall-raster-5pages-mixed-sizes.pdf")
    store = objects.get_storage()
    seen: list[tuple[int, bool, str, int | None]] = []

    def watch(version: PlanVersion) -> None:
        if seen or not 1 <= version.pages_done < version.page_count:
            return
        # Rendering page 2 or later: page 1 is stored meanwhile, by the job's storing thread.
        manifest = objects.manifest_key(version.key, 1)
        deadline = time.monotonic() + 10
        while not store.exists(manifest) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append((version.pages_done, store.exists(manifest), version.state, building.published_version_id))

    finished = rendering.render_version(version.id, on_progress=watch)
    assert finished is not None and finished.state == VersionState.READY
    pages_done, page_one_stored, state, published = seen[0]
    assert pages_done < 5 and page_one_stored
    assert state == VersionState.RENDERING and published is None
    assert finished.tiles_done == finished.tiles_total == sum(page.tiles for page in finished.pages)
    for page in finished.pages:
        manifest = json.loads(store.get(objects.manifest_key(finished.key, page.number)))
        assert manifest["tiles"] == page.tiles and manifest["width"] == page.width
    db.session.refresh(building)
    assert building.published_version_id is None  # a draft: its partner checks it, then publishes


def test_storage_failing_on_an_early_page_stops_the_render_and_publishes_nothing(
    on_s3, app, make_user, make_building
) -> None:
    from floorplans.services import plans
    from tests.fixtures_s3 import fake_response, s3_error_body

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version = queued_version(app, building, partner, "plan-assembly-hall-raster-5pages-mixed-sizes.pdf")
    client = objects.get_storage().client

    def refuse_tiles(request: Any, **_: Any) -> Any:
        if request.method == "PUT" and "/tiles/" in request.url:
            return fake_response(request.url, 403, s3_error_body("AccessDenied", "Access Denied"))
        return None

    client.meta.events.register("before-send.s3.PutObject", refuse_tiles)
    try:
        with pytest.raises(rendering.RetryLater):
            rendering.render_version(version.id)
    finally:
        client.meta.events.unregister("before-send.s3.PutObject", refuse_tiles)
    version = latest_version(building)
    assert version.state == VersionState.QUEUED and "could not be saved" in version.error
    assert version.pages_done < version.page_count  # the render stopped at the next page
    assert not any(objects.get_storage().exists(objects.manifest_key(version.key, n)) for n in range(1, 6))
    db.session.refresh(building)
    assert building.published_version_id is None
    assert not list(plans.work_folder().glob(f"render-{version.key}-*"))  # its folder is gone

    finished = rendering.render_version(version.id)
    assert finished is not None and finished.state == VersionState.READY and finished.pages_done == 5


def test_a_partner_sees_each_page_once_it_is_stored(app, browser_for, make_user, make_building) -> None:
    """While a version is being prepared, the pages already stored (in page order: all of a
    page's tiles and its manifest) have their preview on the version page and at their
    own address, for the congregation only; later pages answer 404 until stored."""

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    upload(browser, building, "plan-assembly-hall-raster-5pages-mixed-sizes.pdf")
    version = latest_version(building)
    assert version.state == VersionState.READY and version.stored_page_numbers == [1, 2, 3, 4, 5]
    pages = sorted(version.pages, key=lambda page: page.number)
    # The same version as the job leaves it after storing two pages, with the third's
    # tiles all stored but its manifest not yet written.
    version.state = VersionState.RENDERING.value
    version.tiles_done = pages[0].tiles + pages[1].tiles + pages[2].tiles - 1
    db.session.commit()
    assert version.stored_page_numbers == [1, 2]

    def preview(user_browser, number: int):  # type: ignore[no-untyped-def]
        return user_browser.get(f"/portal/buildings/{building.id}/plans/{version.id}/pages/{number}/preview.webp")

    first = preview(browser, 1)
    assert first.status_code == 200 and first.mimetype == "image/webp"
    assert first.data == objects.get_storage().get(objects.overview_key(version.key, 1))
    assert "private" in first.headers["Cache-Control"]
    assert preview(browser, 3).status_code == 404
    assert preview(browser, 9).status_code == 404
    progress = browser.get(f"/portal/buildings/{building.id}/plans/{version.id}/progress").get_json()
    assert progress["stored_pages"] == [1, 2] and progress["state"] == "rendering"
    page = browser.get(f"/portal/buildings/{building.id}/plans/{version.id}").get_data(as_text=True)
    assert page.count('class="preview"') == 2 and 'data-preview-page="3"' in page

    other = make_user(Role.PARTNER)  # another congregation
    assert preview(browser_for(other), 1).status_code == 404
    assert preview(browser_for(make_user(Role.OFFICER)), 1).status_code == 403
    assert browser_for(make_user(Role.OFFICER)).get(f"/r/tiles/{version.key}/1/overview.webp").status_code == 404

    version.state = VersionState.FAILED.value
    db.session.commit()
    assert preview(browser, 1).status_code == 404  # a failed version shows nothing


def test_only_one_worker_renders_a_version(app, make_user, make_building) -> None:

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version = queued_version(app, building, partner, "plan-auditorium-event-layout-letter-mixed.pdf")
    assert rendering.claim(version.id) is True
    assert rendering.claim(version.id) is False  # a second job for the same version does nothing
    assert rendering.render_version(version.id) is None


def test_pages_are_labelled_ordered_and_an_older_version_republished(app, browser_for, make_user, make_building):
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    upload(browser, building, "plan-assembly-hall-raster-5pages-mixed-sizes.pdf")
    first = latest_version(building)
    ids = [p.id for p in sorted(first.pages, key=lambda p: p.number)]
    form = {f"label-{pid}": f"Floor {n}" for n, pid in enumerate(ids, start=1)}
    form.update({f"position-{pid}": str(6 - n) for n, pid in enumerate(ids, start=1)})
    form[f"label-{ids[2]}"] = "Basement"
    response = browser.post(f"/portal/buildings/{building.id}/plans/{first.id}/pages", form)
    assert response.status_code == 302
    first = latest_version(building)
    assert [p.label for p in first.pages] == ["Floor 5", "Floor 4", "Basement", "Floor 2", "Floor 1"]
    response = browser.post(f"/portal/buildings/{building.id}/plans/{first.id}/pages", {**form, f"label-{ids[0]}": " "})
    assert response.status_code == 422 and "is required" in response.get_data(as_text=True)

    publish_reviewed(first, partner)

    # A second upload of the set is named from its sheets, never from the first by position
    # (the set's sheets have no title to read: "Sheet n"), and is a draft until published.
    upload(browser, building, "plan-assembly-hall-raster-5pages-mixed-sizes.pdf")
    second = latest_version(building)
    assert second.number == 2
    assert sorted((p.number, p.label) for p in second.pages)[2] == (3, "Sheet 3")
    db.session.refresh(building)
    assert building.published_version_id == first.id
    assert browser.post(f"/portal/buildings/{building.id}/plans/{second.id}/publish").status_code == 302
    db.session.refresh(building)
    assert building.published_version_id == second.id

    assert browser.post(f"/portal/buildings/{building.id}/plans/{first.id}/publish").status_code == 302
    db.session.refresh(building)
    assert building.published_version_id == first.id


def test_publishing_races_have_one_winner(app, make_user, make_building) -> None:
    from floorplans.errors import Conflict
    from floorplans.services import plans

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    versions = []
    for _ in range(2):
        with corpus("plan-auditorium-event-layout-letter-mixed.pdf").open("rb") as stream:
            versions.append(plans.upload_plan(building, stream, "a.pdf", by=partner))
        db.session.commit()
        rendering.render_version(versions[-1].id)
        publish_reviewed(versions[-1], partner)
    db.session.expire_all()
    building = db.session.get(Building, building.id)
    assert building.published_version_id == versions[1].id
    older = db.session.get(PlanVersion, versions[0].id)
    seen_row_version = building.row_version  # this request has read the building...

    # ...when another request changes it first (a publish or an edit alike bump its row version).
    from sqlalchemy.orm import Session

    with Session(db.engine) as other:
        other_building = other.get(Building, building.id)
        other_building.notes = "changed meanwhile"
        other.commit()
    assert building.row_version == seen_row_version
    with pytest.raises(Conflict, match="changed by someone else"):
        plans.publish(older, by=partner)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Building, building.id).published_version_id == versions[1].id
    assert plans.publish(db.session.get(PlanVersion, versions[0].id), by=partner) is True  # a fresh try wins
    db.session.commit()
    assert db.session.get(Building, building.id).published_version_id == versions[0].id


def test_cleanup_removes_superseded_tiles_after_the_grace_period_and_orphans(
    storage_backend, app, browser_for, make_user, make_building
) -> None:
    import datetime as dt

    from floorplans.services.cleanup import cleanup_plans

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browser = browser_for(partner)
    upload(browser, building, "plan-auditorium-event-layout-letter-mixed.pdf")
    old = publish_reviewed(latest_version(building), partner)
    upload(browser, building, "plan-conference-centre-lecture-halls-A4-vector.pdf")
    new = publish_reviewed(latest_version(building), partner)
    upload(browser, building, "plan-auditorium-event-layout-letter-mixed.pdf")
    draft = latest_version(building)  # uploaded after the last publish: waits for review, kept
    store = objects.get_storage()
    store.put(f"tiles/{'a' * 32}/1/0/0/0.webp", b"left by a crash")

    report = cleanup_plans(grace=dt.timedelta(days=7))
    assert report.versions == [] and report.orphans == ["a" * 32]
    assert list(store.list(objects.version_prefix(old.key)))  # still within the grace period

    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=8)
    report = cleanup_plans(grace=dt.timedelta(days=7), now=later)
    assert report.versions == [old.id]
    assert list(store.list(objects.version_prefix(old.key))) == []
    # + overview + manifest, and the version's room labels
    assert len(list(store.list(objects.version_prefix(new.key)))) == new.tiles_done + 3
    assert list(store.list(objects.version_prefix(draft.key)))
    assert store.exists(objects.original_key(old.original_sha256))  # originals are kept
    old = db.session.get(PlanVersion, old.id)
    db.session.refresh(old)
    assert old.tiles_deleted_at is not None
    response = browser.post(f"/portal/buildings/{building.id}/plans/{old.id}/publish", follow_redirects=True)
    assert "Upload it again" in response.get_data(as_text=True)
    db.session.refresh(building)
    assert building.published_version_id == new.id


def test_plans_render_command_imports_with_progress(app, runner, make_building) -> None:
    building = make_building()
    pdf = corpus("plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf")
    app.config["UPLOAD_MAX_PAGES"] = 10
    apply_settings(app)
    result = runner.invoke(args=["plans", "render", str(pdf), "--building", str(building.id)])
    assert result.exit_code == 1
    assert "25 pages" in result.output and "10" in result.output
    hall = str(corpus("plan-university-hall-floor1-legal-rot90-vector.pdf"))
    result = runner.invoke(args=["plans", "render", hall, "--building", str(building.id)])
    assert result.exit_code == 0, result.output
    assert "Rendering" in result.output and "100%" in result.output and "a draft" in result.output
    db.session.refresh(building)
    assert building.published_version is None
    result = runner.invoke(args=["plans", "render", hall, "--building", str(building.id), "--publish"])
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    db.session.refresh(building)
    page = building.published_version.pages[0]
    assert page.width > page.height  # legal sheet with /Rotate 90 comes out landscape, as a viewer shows it


def test_recover_stalled_requeues_then_gives_up(app, make_user, make_building) -> None:
    import datetime as dt


    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version = queued_version(app, building, partner, "plan-auditorium-event-layout-letter-mixed.pdf")
    assert rendering.claim(version.id)
    db.session.refresh(version)
    silent = dt.timedelta(minutes=5)
    assert rendering.recover_stalled(silent_for=silent, queued_for=dt.timedelta(hours=1)) == []  # alive
    version.heartbeat_at -= dt.timedelta(minutes=10)
    db.session.commit()
    assert rendering.recover_stalled(silent_for=silent, queued_for=dt.timedelta(hours=1)) == [version.id]
    db.session.refresh(version)
    assert version.state == VersionState.QUEUED
    version.state, version.attempts = VersionState.RENDERING.value, rendering.MAX_ATTEMPTS
    version.heartbeat_at -= dt.timedelta(minutes=10)
    db.session.commit()
    assert rendering.recover_stalled(silent_for=silent, queued_for=dt.timedelta(hours=1)) == []
    db.session.refresh(version)
    assert version.state == VersionState.FAILED and "several times" in version.error
