"""huey's real consumer, as ``flask --app wsgi jobs worker`` runs it: queued work survives a
restart, and a worker killed in the middle of a render is recovered, not left stuck."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from floorplans import objects
from floorplans.db import db, utcnow
from floorplans.models import AccessEvent, PlanVersion, Role, VersionState
from tests.conftest import fresh_database
from tests.floorplans.conftest import corpus
from tests.security import hostile

pytestmark = pytest.mark.slow  # a real job worker (huey's consumer) rendering in child processes

ROOT = Path(__file__).resolve().parents[2]


def _deployments() -> list[tuple[str, str]]:
    """(database, queue): the embedded pair always, and the production pair (PostgreSQL and
    Redis) when both answer, as on CI.  Other mixes add minutes and prove nothing more."""
    pairs = [("sqlite", "sqlite")]
    if os.environ.get("FLOORPLANS_TEST_DATABASE_URL") and os.environ.get("FLOORPLANS_TEST_REDIS_URL"):
        pairs.append(("postgresql", "redis"))
    elif os.environ.get("FLOORPLANS_TEST_REDIS_URL"):
        pairs.append(("sqlite", "redis"))
    return pairs


@pytest.fixture(params=_deployments(), ids=lambda pair: "+".join(pair))
def deployment(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def database_url(deployment: tuple[str, str], request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(deployment[0], request, tmp_path)


@pytest.fixture
def queued_app(deployment: tuple[str, str], app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(PAGE_MAX_PIXELS=4_000_000, JOBS_IMMEDIATE=False)
    if deployment[1] == "redis":
        app_config.update(REDIS_URL=os.environ["FLOORPLANS_TEST_REDIS_URL"], JOBS_NAME=f"test-{uuid.uuid4().hex}")
    return app_config


# `flask jobs worker` with a render test hook set in the consumer process (converters.isolation.TEST_HOOK,
# handed to its render workers), the hook's name being the first argument.
_HOOKED = "import sys, converters.isolation as i; i.TEST_HOOK = sys.argv.pop(1); from flask.cli import main; main()"


class Worker:
    def __init__(self, config: dict[str, Any], log: Path) -> None:
        self.env = {**os.environ, "FLOORPLANS_INSTANCE_PATH": config["INSTANCE_PATH"]}
        for name in ("DATABASE_URL", "STORAGE_URL", "SECRET_KEY", "PAGE_MAX_PIXELS", "REDIS_URL", "JOBS_NAME"):
            if config.get(name):
                self.env[f"FLOORPLANS_{name}"] = str(config[name])
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, hook: str | None = None, **settings: object) -> None:
        """Start ``flask jobs worker``; ``settings`` as FLOORPLANS_* variables, ``hook`` a render test hook."""
        self.env.update({f"FLOORPLANS_{name}": str(value) for name, value in settings.items()})
        command = [sys.executable, "-c", _HOOKED, hook] if hook else [sys.executable, "-m", "flask"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--app", "wsgi", "jobs", "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self, sig: int = signal.SIGINT) -> int:
        assert self.process is not None
        os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.process = None


@pytest.fixture
def worker(queued_app: dict[str, Any], app, tmp_path: Path) -> Iterator[Worker]:
    running = Worker(queued_app, tmp_path / "worker.log")
    yield running
    if running.process is not None:
        running.stop(signal.SIGKILL)
    if queued_app.get("REDIS_URL"):
        from floorplans.jobs import get_jobs

        get_jobs().huey.storage.flush_all()  # the test's own queue name: nothing else is touched


def wait_for(version_id: int, states: set[str], timeout: float = 180) -> PlanVersion:
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        version = db.session.get(PlanVersion, version_id)
        if version.state in states:
            return version
        # Generous: a loaded 2-core machine starts a worker process slowly; the message says where it stuck.
        assert time.monotonic() < deadline, f"version still {version.state} after {timeout:.0f} s"
        time.sleep(0.2)


def upload(app, partner, building, name: str, api_token, data: bytes | None = None) -> int:
    response = app.test_client().post(
        f"/api/v1/buildings/{building.id}/plans",
        headers=api_token(partner),
        data={"file": (io.BytesIO(corpus(name).read_bytes() if data is None else data), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    return int(response.get_json()["id"])


def test_queued_work_waits_for_a_worker_and_survives_its_restart(
    worker: Worker, app, make_user, make_building, api_token, tmp_path: Path
) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    first = upload(app, partner, building, "plan-auditorium-event-layout-letter-mixed.pdf", api_token)
    time.sleep(0.5)
    assert db.session.get(PlanVersion, first).state == VersionState.QUEUED  # no worker yet: it waits

    from floorplans.jobs import get_jobs

    assert type(get_jobs().huey).__name__ == ("RedisHuey" if app.config.get("REDIS_URL") else "SqliteHuey")
    worker.start()
    assert wait_for(first, {"ready", "failed"}).state == VersionState.READY
    assert worker.stop() == 0  # Ctrl-C stops it cleanly

    second = upload(app, partner, building, "plan-house-archicad-vector-nonstandard-size.pdf", api_token)
    worker.start()  # a new consumer process finds the job queued while none ran
    version = wait_for(second, {"ready", "failed"})
    assert version.state == VersionState.READY, version.error
    db.session.refresh(building)
    assert building.published_version_id is None and version.status == "draft"  # its partner publishes it
    assert "render_plan" in (tmp_path / "worker.log").read_text()


def test_a_worker_killed_mid_render_is_recovered(worker: Worker, app, make_user, make_building, api_token) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version_id = upload(app, partner, building, "plan-university-lab-5sheets-A2-autocad.pdf", api_token)
    worker.start()
    wait_for(version_id, {"rendering"})
    worker.stop(signal.SIGKILL)  # the machine dies
    version = db.session.get(PlanVersion, version_id)
    db.session.refresh(version)
    assert version.state == VersionState.RENDERING
    # Later: its heartbeat is long silent.
    version.heartbeat_at = utcnow().replace(year=2000)
    db.session.commit()

    worker.start()
    version = wait_for(version_id, {"ready", "failed"})
    assert version.state == VersionState.READY, version.error
    assert version.attempts == 2 and version.status == "draft"
    assert version.tiles_done == version.tiles_total > 0


# A render that hangs: page 1 renders (slowly, so that the job saves its progress meanwhile),
# then the render workers hang on page 2 until RENDER_PAGE_SECONDS, as MuPDF does on some
# hostile files validation cannot foresee (converters.worker._test_page_hook).
HANGS = "slow_then_hang"
HANG_SECONDS = 90
SMALL = {"PAGE_MAX_PIXELS": 300_000, "RENDER_WORKERS": 1}


def test_a_hanging_render_does_not_hold_back_the_next_upload(
    worker: Worker, app, make_user, make_building, api_token
) -> None:
    """`flask jobs worker` runs two jobs at once (JOBS_WORKERS): one upload stuck on a page
    until its time limit leaves the other to the uploads after it."""
    worker.start(HANGS, RENDER_PAGE_SECONDS=HANG_SECONDS, **SMALL)
    partner = make_user(Role.PARTNER)
    stuck = upload(app, partner, make_building(partner.organisation), "two-sheets.pdf", api_token,
                   data=hostile.many_pages(2))
    wait_for(stuck, {"rendering"}, timeout=60)
    other = make_building(partner.organisation)
    version = wait_for(upload(app, partner, other, "one-sheet.pdf", api_token, data=hostile.simple_plan()),
                       {"ready", "failed"}, timeout=60)
    assert version.state == VersionState.READY, version.error
    assert db.session.get(PlanVersion, stuck).state == VersionState.RENDERING  # still stuck on page 2


def test_web_writes_go_through_while_a_page_renders_until_its_limit(
    worker: Worker, app, deployment: tuple[str, str], make_user, make_building, api_token, browser_for
) -> None:
    """While the job waits on a hung page, it holds no transaction: 50 officers opening a
    building's card at once (each view writes an access-log row and its audit copy, and the
    login's last-seen time) all get it, none waits out SQLite's busy timeout into a 500."""
    worker.start(HANGS, RENDER_PAGE_SECONDS=HANG_SECONDS, **SMALL)
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    browsers = [browser_for(make_user(Role.OFFICER)) for _ in range(50)]
    version_id = upload(app, partner, building, "two-sheets.pdf", api_token, data=hostile.many_pages(2))

    # Page 1 rendered and stored (its manifest is written last), the job now waits on page 2.
    key = wait_for(version_id, {"rendering"}, timeout=60).key
    store, deadline = objects.get_storage(), time.monotonic() + 60
    while not store.exists(objects.manifest_key(key, 1)):
        assert time.monotonic() < deadline, "page 1 was never stored"
        time.sleep(0.2)
    time.sleep(2)  # what the job does after handing page 1 over (progress saved or not) is done

    db.session.rollback()
    if deployment[0] == "sqlite":
        # Nobody holds the write lock: taking it does not even wait.
        probe = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        finally:
            probe.close()
    else:
        idle = db.session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        ))
        db.session.rollback()
        assert idle == 0

    before = db.session.scalar(select(func.count(AccessEvent.id)))
    card = f"/r/buildings/{building.id}"
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        answers = list(pool.map(lambda browser: browser.get(card).status_code, browsers))
    assert answers == [200] * 50
    assert time.monotonic() - started < 15  # none waited out the busy timeout
    db.session.rollback()
    assert db.session.scalar(select(func.count(AccessEvent.id))) == before + 50
    assert db.session.get(PlanVersion, version_id).state == VersionState.RENDERING  # all during the hang
