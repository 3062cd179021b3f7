"""The officer's card while plans render, on the embedded default: how long an officer
waits for a building's card while partners' uploads are validated and rendered on the same
two cores.

A temporary deployment as ``make run`` makes it (SQLite in the instance folder, a local
folder for objects, the SQLite job queue) gets an officer, the building whose card the
officer opens, and ``--uploads`` (10) congregations, each with a building, a partner and an
API token. It starts what ``make run`` starts: gunicorn with ``gunicorn.conf.py`` (3 sync
workers) and ``flask jobs worker`` (JOBS_WORKERS, 2 jobs at once). ``--officers`` (2)
signed-in officers then open the card over real HTTP, one request after another with
``--pause`` (0.1 s) between, through three phases:

- **quiet**: ``--quiet`` (15) seconds with nothing else running;
- **uploading**: the partners post their multi-sheet corpus plans at once (the API's
  upload, validated in the web request) until the last is accepted;
- **rendering**: until every upload is rendered (ready or failed), at production settings
  (288 dpi, 100 Mpx per page; ``--page-pixels`` for a quicker run).

Every card view writes (an access-log row and its audit copy), so SQLite's write lock is
in play. Reports each phase's card latency (p50, p95, p99, max), errors (non-200 or
exceptions), the uploads' outcome and the machine's 1-minute load average at the start and
the end of each phase. Figures, never pass/fail; the issue's goal: p95 <= 300 ms while 10
multi-sheet uploads render on 2 cores. ``--render-nice 0`` renders at the web's priority,
``--jobs-workers 1`` with one job at a time (what the project had before), for comparison.

    .venv/bin/python bench/underload.py [--uploads 10] [--officers 2] [--render-nice 10] [--jobs-workers 2]
"""
from __future__ import annotations

import argparse
import os
import platform
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"
PASSWORD = secrets.token_urlsafe(24)  # the password policy refuses anything guessable
# Multi-sheet plans of the corpus, taken in turn: scans, vector sheets, a 25-sheet set.
PLANS = [
    "plan-university-lab-5sheets-A2-autocad.pdf",
    "plan-assembly-hall-raster-5pages-mixed-sizes.pdf",
    "plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf",
    "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def prepare(instance: Path, uploads: int) -> dict[str, Any]:
    """Migrate and fill the deployment; the ids and tokens the phases need."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from floorplans import create_app
    from floorplans.db import db
    from floorplans.models import Building, Organisation, Role, User
    from floorplans.services import tokens

    app = create_app({"INSTANCE_PATH": str(instance), "STORAGE_URL": str(instance / "storage")})
    with app.app_context():
        upgrade()
        hashed = generate_password_hash(PASSWORD)
        home = Organisation(name="Bench Mosque", faith_tradition="Muslim")
        card = Building(organisation=home, name="Masjid Bench", street="1 Main St", city="Toronto",
                        search_text="masjid bench 1 main st toronto")
        officers = [User(email=f"officer{n}@bench.example", role=Role.OFFICER.value, password_hash=hashed)
                    for n in range(8)]
        db.session.add_all([home, card, *officers])
        partners = []
        for n in range(uploads):
            organisation = Organisation(name=f"Bench Congregation {n}", faith_tradition="Sikh")
            building = Building(organisation=organisation, name=f"Gurdwara {n}", street=f"{n} Side St",
                                city="Toronto", search_text=f"gurdwara {n}")
            partner = User(email=f"partner{n}@bench.example", role=Role.PARTNER.value, password_hash=hashed,
                           organisation=organisation)
            db.session.add_all([organisation, building, partner])
            partners.append((building, partner))
        db.session.flush()
        ids = {
            "card": card.id,
            "uploads": [(building.id, tokens.create_token(partner, "bench")) for building, partner in partners],
        }
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return ids


def sign_in(port: int, email: str) -> Any:
    from load import signed_in  # bench/load.py, beside this script

    return signed_in(port, email, PASSWORD)


@dataclass
class Samples:
    """Card latencies (seconds), each tagged with the phase it started in."""

    phase: str = "quiet"
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, phase: str, seconds: float | None) -> None:
        with self.lock:
            if seconds is None:
                self.errors[phase] = self.errors.get(phase, 0) + 1
            else:
                self.times.setdefault(phase, []).append(seconds)


def officer_loop(session: Any, url: str, samples: Samples, stop: threading.Event, pause: float) -> None:
    while not stop.is_set():
        phase = samples.phase
        started = time.perf_counter()
        try:
            ok = session.get(url, timeout=60).status_code == 200
        except Exception:  # noqa: BLE001 - any failure is an error of the phase
            ok = False
        samples.add(phase, time.perf_counter() - started if ok else None)
        stop.wait(pause)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--officers", type=int, default=2, help="officers opening the card at once")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between an officer's requests")
    parser.add_argument("--quiet", type=float, default=15.0, help="seconds of the quiet phase")
    parser.add_argument("--render-nice", type=int, default=10, help="RENDER_NICE (0: the web's priority)")
    parser.add_argument("--jobs-workers", type=int, default=2, help="JOBS_WORKERS: jobs run at once")
    parser.add_argument("--page-pixels", type=int, default=100_000_000, help="PAGE_MAX_PIXELS")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up on the renders after this")
    args = parser.parse_args()
    import requests

    with tempfile.TemporaryDirectory(prefix="floorplans-underload-") as tmp:
        instance = Path(tmp) / "instance"
        ids = prepare(instance, args.uploads)
        env = {**os.environ, "FLOORPLANS_INSTANCE_PATH": str(instance),
               "FLOORPLANS_STORAGE_URL": str(instance / "storage"),
               "FLOORPLANS_RENDER_NICE": str(args.render_nice), "FLOORPLANS_JOBS_WORKERS": str(args.jobs_workers),
               "FLOORPLANS_PAGE_MAX_PIXELS": str(args.page_pixels), "FLOORPLANS_UPLOADS_PER_HOUR": "1000"}
        port = free_port()
        bin_dir = Path(sys.executable).parent
        web = subprocess.Popen([str(bin_dir / "gunicorn"), "--config", "gunicorn.conf.py", "--bind",
                                f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        jobs = subprocess.Popen([str(bin_dir / "flask"), "--app", "wsgi", "jobs", "worker"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop = threading.Event()
        samples = Samples()
        loads: dict[str, tuple[float, float]] = {}
        try:
            url = f"http://127.0.0.1:{port}/r/buildings/{ids['card']}"
            officers = [sign_in(port, f"officer{n}@bench.example") for n in range(args.officers)]
            for session in officers:
                assert session.get(url, timeout=30).status_code == 200  # warm: templates, connections
            threads = [threading.Thread(target=officer_loop, args=(s, url, samples, stop, args.pause), daemon=True)
                       for s in officers]
            quiet_load = load()
            for thread in threads:
                thread.start()
            time.sleep(args.quiet)
            loads["quiet"] = (quiet_load, load())

            samples.phase = "uploading"
            started, up_load = time.monotonic(), load()
            version_ids: list[int] = []
            failures: list[str] = []

            def post(index: int) -> None:
                building_id, token = ids["uploads"][index]
                name = PLANS[index % len(PLANS)]
                with (CORPUS / name).open("rb") as stream:
                    answer = requests.post(f"http://127.0.0.1:{port}/api/v1/buildings/{building_id}/plans",
                                           headers={"Authorization": f"Bearer {token}"},
                                           files={"file": (name, stream, "application/pdf")}, timeout=120)
                if answer.status_code == 202:
                    version_ids.append(int(answer.json()["id"]))
                else:
                    failures.append(f"{name}: {answer.status_code} {answer.text[:200]}")

            posting = [threading.Thread(target=post, args=(n,)) for n in range(args.uploads)]
            for thread in posting:
                thread.start()
            for thread in posting:
                thread.join()
            uploaded = time.monotonic() - started
            loads["uploading"] = (up_load, load())

            samples.phase = "rendering"
            render_load, states = load(), {}
            database = sqlite3.connect(f"file:{instance / 'floorplans.sqlite3'}?mode=ro", uri=True)
            marks = ",".join("?" * len(version_ids))
            while time.monotonic() - started < args.timeout:
                states = dict(database.execute(
                    f"SELECT id, state FROM plan_versions WHERE id IN ({marks})", version_ids
                ).fetchall())
                if all(state in ("ready", "failed") for state in states.values()):
                    break
                time.sleep(1)
            rendered = time.monotonic() - started
            loads["rendering"] = (render_load, load())
            pages = database.execute(
                f"SELECT sum(page_count) FROM plan_versions WHERE id IN ({marks})", version_ids
            ).fetchone()[0]
            database.close()
        finally:
            stop.set()
            web.terminate()
            jobs.terminate()
            web.wait(30)
            jobs.wait(30)

    print(f"{platform.platform()}, {os.cpu_count()} cores; gunicorn.conf.py (sync workers) + flask jobs worker "
          f"(JOBS_WORKERS={args.jobs_workers}, RENDER_NICE={args.render_nice}, PAGE_MAX_PIXELS={args.page_pixels:,}); "
          f"SQLite, local folder; {args.officers} officers, {args.pause} s between requests")
    outcome = {state: list(states.values()).count(state) for state in ("ready", "failed")}
    print(f"{len(version_ids)} uploads accepted ({pages} pages) in {uploaded:.1f} s, all rendered after "
          f"{rendered:.1f} s: {outcome}; refused: {failures or 'none'}")
    print("| phase | cards | p50 ms | p95 ms | p99 ms | max ms | errors | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|")
    for phase in ("quiet", "uploading", "rendering"):
        values = samples.times.get(phase, [])
        figures = (" | ".join(f"{percentile(values, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99))
                   + f" | {max(values) * 1000:.0f}") if values else "- | - | - | -"
        start, end = loads.get(phase, (0.0, 0.0))
        print(f"| {phase} | {len(values)} | {figures} | {samples.errors.get(phase, 0)} | {start:.1f} -> {end:.1f} |")
    every = [value for values in samples.times.values() for value in values]
    if every:
        print(f"(all phases: median {statistics.median(every) * 1000:.0f} ms over {len(every)} cards)")


if __name__ == "__main__":
    main()
