"""One unit of work per request, CLI command and job (floorplans.db): a view's changes are
committed when it returns, whatever the status, and rolled back when an exception leaves
it; a refusable step goes in a savepoint; a job is queued only once the work that made it
is committed (``db.after_commit``), never after a rollback.

The views under test are registered by the test (a view that flushes and then raises, a
commit that fails, ...), beside the real upload views whose quota attempt must survive a
refused file.  Jobs are huey's: the queue's pending tasks when nothing consumes them, the
render run inline (JOBS_IMMEDIATE) in its own session when the test needs the worker to
find the row.
"""
from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import click
import pytest
from flask import Blueprint, Flask, abort, request
from flask_login import current_user
from sqlalchemy import create_engine, func, select, text

from floorplans import cli, jobs, objects
from floorplans.auth import permission
from floorplans.db import after_commit, db, utcnow
from floorplans.errors import Conflict, InvalidInput
from floorplans.models import Organisation, PlanVersion, Role, VersionState
from floorplans.models.limits import RateLimit
from floorplans.permissions import Permission
from floorplans.services import plans, quotas
from tests.security import hostile

NAME = "Transactions test congregation"
ROOT = Path(__file__).resolve().parent.parent.parent


def _organisation(name: str) -> Organisation:
    return Organisation(name=name, faith_tradition="Muslim")


def _add_test_views(app: Flask) -> None:
    """Views that do what a careless one might, each a few lines."""
    bp = Blueprint("transactions_test", __name__)

    @bp.post("/raise-after-flush/<how>")
    @permission(Permission.SIGNED_IN)
    def raise_after_flush(how: str) -> Any:
        db.session.add(_organisation(request.form["name"]))
        db.session.flush()
        if how == "abort":
            abort(404)
        if how == "domain":
            raise Conflict("Someone else changed this first.")
        raise RuntimeError("a bug after the flush")

    @bp.post("/refused")
    @permission(Permission.SIGNED_IN)
    def refused() -> Any:
        """Keeps one row (an attempt, say) and refuses the change it was asked for: 422."""
        db.session.add(_organisation(request.form["kept"]))
        try:
            with db.session.begin_nested():
                db.session.add(_organisation(request.form["refused"]))
                db.session.flush()
                raise InvalidInput({"name": "is refused."})
        except InvalidInput as invalid:
            return invalid.message, 422
        return "not reached", 200

    @bp.post("/savepoint-then-bug")
    @permission(Permission.SIGNED_IN)
    def savepoint_then_bug() -> Any:
        """A savepoint as the request's first write, released, then a bug: on SQLite the
        savepoint must not have opened a transaction of its own that its RELEASE commits."""
        with db.session.begin_nested():
            db.session.add(_organisation(request.form["name"]))
        raise RuntimeError("a bug after the savepoint")

    @bp.post("/queue/<int:version_id>/<then>")
    @permission(Permission.SIGNED_IN)
    def queue(version_id: int, then: str) -> Any:
        jobs.queue_render(version_id)
        if then == "raise":
            raise Conflict("Refused after the job was asked for.")
        if then == "failing-commit":
            db.session.add(_organisation(NAME))  # the name is taken: the commit fails
        if then == "savepoint-refused":
            try:
                with db.session.begin_nested():
                    jobs.queue_render(version_id + 1000)  # asked for inside the refused step
                    raise InvalidInput({"file": "is refused."})
            except InvalidInput:
                pass
        return "Saved.", 200

    @bp.post("/delete/<int:version_id>/<then>")
    @permission(Permission.EDIT_RECORDS)
    def delete(version_id: int, then: str) -> Any:
        plans.delete_version(plans.get_version(current_user, version_id, edit=True), by=current_user)
        if then == "failing-commit":
            db.session.add(_organisation(NAME))
        return "Deleted.", 200

    app.register_blueprint(bp, url_prefix="/transactions-test")


@pytest.fixture
def queued_jobs(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(JOBS_IMMEDIATE=False, PROPAGATE_EXCEPTIONS=False)
    return app_config


@pytest.fixture
def signed_in(queued_jobs: dict[str, Any], app: Flask, browser_for, make_user):  # type: ignore[no-untyped-def]
    _add_test_views(app)
    return browser_for(make_user(Role.OFFICER))


def _names() -> set[str]:
    """What the database holds, read on a connection of its own (not the test's session)."""
    engine = create_engine(db.engine.url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT name FROM organisations")).scalars())
    finally:
        engine.dispose()


def _pending_renders(app: Flask) -> list[int]:
    return sorted(task.args[0] for task in jobs.get_jobs().huey.pending() if task.name.endswith("render_plan"))


def _version(app: Flask, make_user, make_building) -> PlanVersion:  # type: ignore[no-untyped-def]
    partner = make_user(Role.PARTNER)
    version = plans.upload_plan(make_building(partner.organisation), io.BytesIO(hostile.simple_plan()), "plan.pdf",
                                by=partner)
    db.session.commit()
    assert _pending_renders(app) == []  # nothing queued it: the test does
    return version


# --- the request -----------------------------------------------------------------------


def test_views_commit_nothing_but_where_their_line_says_why() -> None:
    """The request commits; a view that must keep something at once says why on the line."""
    bare = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in sorted((ROOT / "blueprints").rglob("*.py"))
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if re.search(r"\b(commit|rollback)\(\)", line) and "#" not in line]
    assert bare == []



@pytest.mark.parametrize(("how", "status"), [("abort", 404), ("domain", 409), ("bug", 500)])
def test_a_view_that_raises_after_a_flush_leaves_nothing(signed_in, how: str, status: int) -> None:
    name = f"Raised {uuid.uuid4().hex[:6]}"
    response = signed_in.post(f"/transactions-test/raise-after-flush/{how}", {"name": name})
    assert response.status_code == status
    assert name not in _names()


def test_a_422_keeps_what_the_view_kept_and_not_the_refused_step(signed_in) -> None:
    kept, refused = f"Kept {uuid.uuid4().hex[:6]}", f"Refused {uuid.uuid4().hex[:6]}"
    response = signed_in.post("/transactions-test/refused", {"kept": kept, "refused": refused})
    assert response.status_code == 422
    names = _names()
    assert kept in names and refused not in names


def test_a_savepoint_first_is_rolled_back_with_the_request(signed_in) -> None:
    """pysqlite opens no transaction before a SAVEPOINT; SQLite's own would be committed by
    the RELEASE (floorplans.db opens one first)."""
    name = f"Savepoint {uuid.uuid4().hex[:6]}"
    response = signed_in.post("/transactions-test/savepoint-then-bug", {"name": name})
    assert response.status_code == 500
    assert name not in _names()


@pytest.mark.slow  # uploads are validated and rendered in child processes
def test_a_failing_commit_answers_500_and_queues_nothing(signed_in, app, make_user, make_building) -> None:
    db.session.add(_organisation(NAME))
    db.session.commit()
    version = _version(app, make_user, make_building)
    response = signed_in.post(f"/transactions-test/queue/{version.id}/failing-commit")
    assert response.status_code == 500
    assert "Saved." not in response.get_data(as_text=True)
    assert "nothing was saved" in response.get_data(as_text=True)
    assert _pending_renders(app) == []


@pytest.mark.slow  # uploads are validated and rendered in child processes
def test_a_render_is_queued_after_the_commit_and_never_after_a_rollback(signed_in, app, make_user,
                                                                        make_building) -> None:
    version = _version(app, make_user, make_building)
    assert signed_in.post(f"/transactions-test/queue/{version.id}/raise").status_code == 409
    assert _pending_renders(app) == []
    # Asked for inside a refused savepoint: forgotten with it; the one asked for before stays.
    assert signed_in.post(f"/transactions-test/queue/{version.id}/savepoint-refused").status_code == 200
    assert _pending_renders(app) == [version.id]


@pytest.mark.slow  # uploads are validated and rendered in child processes
def test_the_worker_finds_the_uploaded_version(fast_render, app, browser_for, make_user, make_building) -> None:
    """JOBS_IMMEDIATE renders in the job's own session as soon as the job is queued: queued
    before the request's commit, it could not see (or on SQLite even write) the new version."""
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    response = browser_for(partner).post(
        f"/portal/buildings/{building.id}/plans", {"file": (io.BytesIO(hostile.simple_plan()), "plan.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.expire_all()
    version = db.session.scalars(select(PlanVersion).where(PlanVersion.building_id == building.id)).one()
    assert version.state == VersionState.READY, version.error
    assert version.attempts == 1


@pytest.mark.slow  # uploads are validated and rendered in child processes
@pytest.mark.parametrize("through", ["portal", "api"])
def test_a_refused_file_keeps_its_upload_attempt_and_nothing_else(queued_jobs, app, browser_for, api_token,
                                                                  make_user, make_building, through: str) -> None:
    """The quota counts every upload checked, accepted or refused; a refused file leaves no
    version and no job."""
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    upload = {"file": (io.BytesIO(b"%PDF-1.7 not really a PDF"), "plan.pdf")}
    if through == "portal":
        response = browser_for(partner).post(f"/portal/buildings/{building.id}/plans", upload,
                                             content_type="multipart/form-data")
    else:
        response = app.test_client().post(f"/api/v1/buildings/{building.id}/plans", data=upload,
                                          headers=api_token(partner), content_type="multipart/form-data")
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(RateLimit, quotas.upload_key(partner)) is not None  # the attempt counted
    assert db.session.scalar(select(func.count(PlanVersion.id)).where(PlanVersion.building_id == building.id)) == 0
    assert _pending_renders(app) == []


@pytest.mark.slow  # uploads are validated and rendered in child processes
def test_a_deleted_versions_file_goes_only_once_the_deletion_is_committed(queued_jobs, app, browser_for,
                                                                          make_user, make_building) -> None:
    _add_test_views(app)
    admin = browser_for(make_user(Role.ADMIN))
    db.session.add(_organisation(NAME))
    version = _version(app, make_user, make_building)
    version.state = VersionState.FAILED.value  # a failed upload: its partner may delete it
    db.session.commit()
    version_id, original = version.id, objects.original_key(version.original_sha256)
    store = objects.get_storage()

    assert admin.post(f"/transactions-test/delete/{version_id}/failing-commit").status_code == 500
    assert store.exists(original)  # the version is still there, and so is its file
    db.session.expire_all()
    assert db.session.get(PlanVersion, version_id) is not None

    assert admin.post(f"/transactions-test/delete/{version_id}/then-commit").status_code == 200
    assert not store.exists(original)
    db.session.expire_all()
    assert db.session.get(PlanVersion, version_id) is None


# --- a CLI command and a job -------------------------------------------------------------


@pytest.mark.slow  # uploads are validated and rendered in child processes
def test_a_command_queues_after_its_commit_and_not_when_it_fails(queued_jobs, app, runner, make_user,
                                                                 make_building) -> None:
    @app.cli.command("queue-render-test")
    @click.argument("version_id", type=int)
    @click.option("--fail", is_flag=True)
    def queue_render_test(version_id: int, fail: bool) -> None:
        jobs.queue_render(version_id)
        if fail:
            cli._fail(Conflict("refused"))
        db.session.commit()

    version = _version(app, make_user, make_building)
    result = runner.invoke(args=["queue-render-test", str(version.id), "--fail"])
    assert result.exit_code == 1 and "refused" in result.output
    assert _pending_renders(app) == []
    db.session.commit()  # the test's own session commits: what the failed command asked for is gone
    assert _pending_renders(app) == []
    result = runner.invoke(args=["queue-render-test", str(version.id)])
    assert result.exit_code == 0, result.output
    assert _pending_renders(app) == [version.id]


@pytest.mark.slow  # uploads are validated and rendered in child processes
def test_the_stalled_render_recovery_queues_after_its_commit(queued_jobs, app, make_user, make_building) -> None:
    version = _version(app, make_user, make_building)
    version.state = VersionState.RENDERING.value
    version.heartbeat_at = utcnow().replace(year=2000)  # the worker that had it died long ago
    version.attempts = 1
    db.session.commit()
    jobs.get_jobs().recover_stalled_plans.call_local()
    assert _pending_renders(app) == [version.id]
    engine = create_engine(db.engine.url)
    try:
        with engine.connect() as connection:  # committed: the worker will find it queued
            state = connection.execute(text("SELECT state FROM plan_versions WHERE id = :id"),
                                       {"id": version.id}).scalar()
    finally:
        engine.dispose()
    assert state == VersionState.QUEUED.value


def test_after_commit_actions_are_forgotten_when_the_session_closes_uncommitted(queued_jobs, app) -> None:
    """A job or command that ends without committing (its session closed) leaves nothing
    for the next unit of work of the same session to run."""
    ran: list[str] = []
    after_commit(lambda: ran.append("first"))
    db.session.close()
    db.session.commit()
    assert ran == []
    after_commit(lambda: ran.append("second"))
    db.session.commit()
    assert ran == ["second"]
