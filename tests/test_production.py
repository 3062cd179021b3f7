"""Production mode, proven here: two gunicorn processes and two huey consumers on PostgreSQL,
Redis and a real S3 HTTP endpoint.  Plans uploaded through both web processes at once are
each rendered exactly once, published once, and readable through either process.

Runs when PostgreSQL and Redis answer on loopback (``make test`` then sets
FLOORPLANS_TEST_DATABASE_URL and FLOORPLANS_TEST_REDIS_URL, as on CI)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select, text

from floorplans import create_app
from floorplans.db import db
from floorplans.models import Building, PlanVersion, Role, VersionState
from floorplans.services import accounts
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parent.parent
PLANS = [
    "plan-auditorium-event-layout-letter-mixed.pdf",
    "plan-conference-centre-lecture-halls-A4-vector.pdf",
    "plan-university-hall-floor1-legal-rot90-vector.pdf",
    "plan-house-archicad-vector-nonstandard-size.pdf",
]

pytestmark = pytest.mark.skipif(
    not (os.environ.get("FLOORPLANS_TEST_DATABASE_URL") and os.environ.get("FLOORPLANS_TEST_REDIS_URL")),
    reason="production mode needs PostgreSQL and Redis on loopback (make test sets both when they answer)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn on {port} did not start:\n{log.read_text()}")


@pytest.fixture
def deployment(postgresql_url: str, s3_bucket: tuple[str, str], tmp_path: Path) -> Iterator[dict[str, Any]]:
    config = {
        "DATABASE_URL": postgresql_url,
        "STORAGE_URL": f"s3://{s3_bucket[1]}/prod",
        "REDIS_URL": os.environ["FLOORPLANS_TEST_REDIS_URL"],
        "JOBS_NAME": f"prod-{uuid.uuid4().hex}",
        "SECRET_KEY": uuid.uuid4().hex,
        "PAGE_MAX_PIXELS": 4_000_000,
    }
    processes: list[subprocess.Popen[bytes]] = []

    def start(command: list[str], name: str) -> tuple[subprocess.Popen[bytes], Path]:
        env = {**os.environ, **{f"FLOORPLANS_{k}": str(v) for k, v in config.items()}}
        env["FLOORPLANS_INSTANCE_PATH"] = str(tmp_path / name)  # no local state is shared
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        processes.append(process)
        return process, log

    ports = []
    for number in (1, 2):
        port = free_port()
        process, log = start([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                              "wsgi:app"], f"web{number}")
        ports.append((port, process, log))
    for number in (1, 2):
        start([sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"], f"consumer{number}")
    for port, process, log in ports:
        wait_until_serving(port, process, log)
    try:
        yield {"config": config, "ports": [port for port, _, _ in ports], "logs": tmp_path}
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        engine = create_engine(postgresql_url)
        with engine.begin() as connection:
            tables = ", ".join(t.name for t in reversed(db.metadata.sorted_tables))
            connection.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()


def test_two_web_processes_and_two_consumers(deployment: dict[str, Any]) -> None:
    config = deployment["config"]
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(deployment["logs"] / "test"), **config})
    with app.app_context():
        partner_org = accounts.create_organisation({"name": "Masjid Al-Huda", "faith_tradition": "Muslim"})
        password = "velvet harbour quarry lantern"  # the password policy wants a phrase, not "x" * 16
        partner = accounts.create_user(email="p@example.org", role=Role.PARTNER.value, password=password,
                                       organisation=partner_org, temporary=False)  # API tokens below
        officer = accounts.create_user(email="o@example.org", role=Role.OFFICER.value, password=password,
                                       temporary=False)
        buildings = [Building(organisation=partner_org, name=f"Hall {n}", street="1 King St", city="Toronto")
                     for n in range(2)]
        db.session.add_all(buildings)
        db.session.flush()
        partner_token, officer_token = accounts.create_token(partner), accounts.create_token(officer)
        building_ids = [b.id for b in buildings]
        db.session.commit()

    ports = deployment["ports"]
    uploads = [(building_ids[n % 2], ports[n % 2], PLANS[n]) for n in range(len(PLANS))]

    def upload(job: tuple[int, int, str]) -> int:
        building_id, port, name = job
        response = requests.post(
            f"http://127.0.0.1:{port}/api/v1/buildings/{building_id}/plans",
            headers={"Authorization": f"Bearer {partner_token}"},
            files={"file": (name, (CORPUS / name).read_bytes(), "application/pdf")},
            timeout=60,
        )
        assert response.status_code == 202, response.text
        return int(response.json()["id"])

    with ThreadPoolExecutor(max_workers=len(uploads)) as pool:
        version_ids = list(pool.map(upload, uploads))

    deadline = time.monotonic() + 180
    officer_headers = {"Authorization": f"Bearer {officer_token}"}
    partner_headers = {"Authorization": f"Bearer {partner_token}"}
    while True:
        states = [
            requests.get(f"http://127.0.0.1:{ports[n % 2]}/api/v1/plans/{vid}", headers=partner_headers,
                         timeout=10).json()["state"]
            for n, vid in enumerate(version_ids)
        ]
        if all(state in ("ready", "failed") for state in states):
            break
        assert time.monotonic() < deadline, f"still rendering: {states}"
        time.sleep(0.5)
    assert states == ["ready"] * len(version_ids)
    # Drafts until their partner publishes them: officers get none of them yet.
    assert [requests.get(f"http://127.0.0.1:{ports[0]}/api/v1/plans/{vid}", headers=officer_headers,
                         timeout=10).status_code for vid in version_ids] == [404] * len(version_ids)

    def publish(job: tuple[int, int]) -> int:
        version_id, port = job
        response = requests.post(f"http://127.0.0.1:{port}/api/v1/plans/{version_id}/publish",
                                 headers=partner_headers, timeout=30)
        return response.status_code

    # The partner publishes each building's newest upload, through either process at once.
    drafts = [requests.get(f"http://127.0.0.1:{ports[0]}/api/v1/plans/{vid}", headers=partner_headers,
                           timeout=10).json() for vid in version_ids]
    # Two uploads to one building at the same moment may get the same number: the later id wins.
    newest_ids = [max((d for d in drafts if d["building_id"] == building_id),
                      key=lambda d: (d["number"], d["id"]))["id"] for building_id in building_ids]
    with ThreadPoolExecutor(max_workers=len(newest_ids)) as pool:
        answers = list(pool.map(publish, [(vid, ports[n % 2]) for n, vid in enumerate(newest_ids)]))
    assert answers == [200] * len(newest_ids)

    with app.app_context():
        versions = db.session.scalars(select(PlanVersion).order_by(PlanVersion.id)).all()
        assert [v.id for v in versions] == sorted(version_ids)
        assert [v.attempts for v in versions] == [1] * len(versions)  # each rendered exactly once
        assert all(v.state == VersionState.READY for v in versions)
        for building_id in building_ids:
            building = db.session.get(Building, building_id)
            newest = max((v for v in versions if v.building_id == building_id), key=lambda v: (v.number, v.id))
            assert building.published_version_id == newest.id  # the newest upload of each building won
        db.session.remove()
        db.engine.dispose()  # close this test's own connections; the server's are its own

    logs = "".join((deployment["logs"] / f"consumer{n}.log").read_text() for n in (1, 2))
    assert logs.count("Executing floorplans.jobs.render_plan") + logs.count("render_plan:") >= len(version_ids)

    # Every published plan reads the same through either web process.
    for building_id in building_ids:
        record = requests.get(f"http://127.0.0.1:{ports[0]}/api/v1/buildings/{building_id}",
                              headers=officer_headers, timeout=10).json()
        page = record["plan"]["pages"][0]
        url = page["tile_url"].format(z=page["max_zoom"], x=0, y=0)
        tiles = [requests.get(f"http://127.0.0.1:{port}{url}", headers=officer_headers, timeout=10)
                 for port in ports]
        assert [t.status_code for t in tiles] == [200, 200]
        assert tiles[0].content == tiles[1].content and tiles[0].content[:4] == b"RIFF"
