"""Load on loopback: 64 concurrent simulated officers against gunicorn, next to nginx
serving the same tiles through the signed tile front.

A temporary deployment gets a congregation, a building, an officer and a ready plan version
whose pyramid is synthetic tiles of realistic size (4 KB, 5 zoom levels).  Its database is
SQLite by default; ``--database-url postgresql://postgres@127.0.0.1:5432/postgres`` (a server
URL, as FLOORPLANS_TEST_DATABASE_URL for the tests) makes a database of its own on that
PostgreSQL server and drops it afterwards.  Storage is a local folder.  gunicorn serves the
app (``--workers``, default 2 x cores; ``--worker-class``, ``--worker-threads``), an officer
signs in over HTTP, and ``wrk`` (Debian's) drives 64 connections for ``--seconds`` (60) per
scenario:

- **officers**: each connection opens the building's card, then pans the plan (1 card per
  16 tile GETs, tiles spread over the pyramid), with the officer's session cookie;
- **app tiles**: tile GETs only, through the app's access-checked route;
- **nginx signed tiles**: the same tiles through nginx's ``secure_link`` front, at the URLs
  the app hands out when ``TILE_URL_SECRET`` is set (floorplans.tile_links).

Reports requests/s, p50/p99 latency and errors (socket errors and non-2xx).  Figures, never
pass/fail.  Goals from the issue: 0 errors; app tiles >= 1,000/s with p99 <= 100 ms; nginx
>= 20,000/s.

    .venv/bin/python bench/load.py [--seconds 60] [--connections 64] [--database-url URL] [--only app-tiles]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench password, long enough"
SECRET = "bench-tile-secret-0123456789abcdef"
ZOOMS = 5  # levels 0..4: 1 + 4 + 16 + 64 + 256 tiles
TILE_BYTES = 4096


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"process exited with {process.returncode}") from None
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on port {port}")


def prepare(instance: Path, database_url: str | None) -> dict[str, Any]:
    """Migrate and fill a deployment; return the ids and paths the scenarios need."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from floorplans import create_app, objects
    from floorplans.db import db, utcnow
    from floorplans.models import Building, Organisation, PlanPage, PlanVersion, Role, User, VersionState

    config = {"INSTANCE_PATH": str(instance), "STORAGE_URL": str(instance / "storage")}
    if database_url:
        config["DATABASE_URL"] = database_url
    app = create_app(config)
    with app.app_context():
        upgrade()
        organisation = Organisation(name="Bench Congregation", faith_tradition="Sikh")
        building = Building(organisation=organisation, name="Gurdwara Bench", street="1 Main St", city="Toronto",
                            search_text="gurdwara bench 1 main st toronto")
        officer = User(email="officer@bench.example", role=Role.OFFICER.value,
                       password_hash=generate_password_hash(PASSWORD))
        version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                              original_bytes=1, page_count=1,
                              pages=[PlanPage(number=1, position=1, label="Ground floor", width=4096, height=4096,
                                              tile_size=256, max_zoom=ZOOMS - 1)])
        db.session.add_all([organisation, building, officer, version])
        db.session.flush()
        building.published_version = version
        version.published_at = utcnow()
        store = objects.get_storage()
        tiles = []
        payload = os.urandom(TILE_BYTES)
        for z in range(ZOOMS):
            for x in range(2**z):
                for y in range(2**z):
                    store.put(objects.tile_key(version.key, 1, z, x, y), payload)
                    tiles.append((z, x, y))
        db.session.commit()
        ids = {"building_id": building.id, "version_key": version.key, "tiles": tiles}
        db.session.remove()
        db.engine.dispose()
    return ids


@contextlib.contextmanager
def own_database(server_url: str | None) -> Iterator[str | None]:
    """A new, empty database on the PostgreSQL server at ``server_url`` (dropped afterwards),
    so that the benchmark never touches a database it did not make; None: SQLite."""
    if not server_url:
        yield None
        return
    from sqlalchemy import create_engine, make_url, text

    server = make_url(server_url)
    if server.get_backend_name() != "postgresql":
        raise SystemExit("--database-url: a PostgreSQL server URL (SQLite is the default)")
    server = server.set(drivername="postgresql+psycopg")
    name = f"floorplans_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def signed_in(port: int, email: str, password: str) -> Any:
    """A requests session signed in to the app on ``port`` (waiting for its workers)."""
    import requests

    session = requests.Session()
    deadline = time.monotonic() + 120  # the workers import the app after the port opens
    while True:
        try:
            form = session.get(f"http://127.0.0.1:{port}/login", timeout=10).text
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    response = session.post(f"http://127.0.0.1:{port}/login", timeout=10, allow_redirects=False,
                            data={"email": email, "password": password, "csrf_token": token.group(1)})
    assert response.status_code == 302, (response.status_code, response.text[-300:])
    return session


def sign_in(port: int) -> str:
    """The bench officer's session cookie, for wrk."""
    session = signed_in(port, "officer@bench.example", PASSWORD)
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def wrk_script(folder: Path, name: str, paths: list[str], cookie: str = "", think_ms: float = 0) -> Path:
    """A wrk Lua script cycling through ``paths`` (each connection from its own offset).
    With ``think_ms``, each connection waits a random time (exponential, that mean) between
    an answer and its next request, as a car's officer does, instead of asking at once; wrk
    counts a request's latency from its sending, so the waits are not in the figures."""
    lines = ",\n".join(f'  "{p}"' for p in paths)
    header = f'wrk.headers["Cookie"] = "{cookie}"\n' if cookie else ""
    if think_ms:
        header += f"function delay() return math.floor(-{think_ms:.1f} * math.log(1 - math.random())) end\n"
    script = folder / f"{name}{'_paced' if think_ms else ''}.lua"
    script.write_text(f"""{header}local paths = {{
{lines}
}}
local n = #paths
local i = 0
function setup(thread) thread:set("offset", math.random(n)) end
function init(args) i = offset or 0 end
function request()
  i = (i % n) + 1
  return wrk.format("GET", paths[i])
end
""")
    return script


def run_wrk(port: int, script: Path, seconds: int, connections: int, threads: int) -> dict[str, Any]:
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
         "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return parse_wrk(output)


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    try:
        return _parse_wrk(output)
    except (AttributeError, KeyError) as error:  # a line missing or in a unit not read here
        raise SystemExit(f"could not read wrk's output ({error}):\n{output}") from None


def _parse_wrk(output: str) -> dict[str, Any]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    # At a line's start: "+/- Stdev" columns end in a per cent too (a "87.50%" matched "50%").
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return {"rps": rps, "requests": total, "p50_ms": p50, "p99_ms": p99, "errors": errors}


def tile_front_conf(folder: Path, port: int, storage: Path) -> Path:
    from bench.nginx import nginx_conf
    from floorplans import tile_links

    return nginx_conf(folder, port, tile_links.nginx_locations(secret=SECRET, storage_root=str(storage)), tuned=True)


def machine_line(load_before: float) -> str:
    """The machine a run's figures come from, and how busy it was before and after."""
    return (f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; 1-minute load "
            f"average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")


def print_results(results: dict[str, dict[str, Any]], goals: dict[str, str] | None = None) -> None:
    """The scenarios' wrk figures as the Markdown table docs/benchmarks.md keeps, with each
    scenario's p99 goal when ``goals`` are given (bench/scale.py)."""
    goal_head, goal_rule = ("goal p99 | ", "---|") if goals is not None else ("", "")
    print(f"| scenario | requests | req/s | p50 ms | p99 ms | {goal_head}errors |")
    print(f"|---|---|---|---|---|{goal_rule}---|")
    for name, r in results.items():
        goal = f"{goals[name]} | " if goals is not None else ""
        print(f"| {name} | {r['requests']:,} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
              f"| {goal}{r['errors']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--worker-class", default="sync", help="gunicorn's --worker-class (sync, gthread)")
    parser.add_argument("--worker-threads", type=int, default=1, help="gunicorn's --threads (gthread)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server to make a database on (default: SQLite in a temporary instance)")
    parser.add_argument("--only", choices=["officers", "app-tiles", "nginx-tiles"], action="append")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y nginx wrk (or make nginx)")

    from floorplans import create_app, tile_links, tile_urls
    from floorplans.config import get_settings

    load_before = os.getloadavg()[0]
    scenarios = args.only or ["officers", "app-tiles", "nginx-tiles"]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="floorplans-load-") as tmp, own_database(args.database_url) as database_url:
        folder = Path(tmp)
        instance = folder / "instance"
        ids = prepare(instance, database_url)
        key, tiles = ids["version_key"], ids["tiles"]
        # Officers pan over the deeper levels mostly, as a zoomed-in viewer does.
        tile_paths = [tile_urls.IN_CAR_PREFIX + tile_urls.tile_path(key, 1, z, x, y) for z, x, y in tiles]
        env = {**os.environ, "FLOORPLANS_INSTANCE_PATH": str(instance),
               "FLOORPLANS_STORAGE_URL": str(instance / "storage")}
        if database_url:
            env["FLOORPLANS_DATABASE_URL"] = database_url
        app_port = free_port()
        gunicorn = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(args.workers),
             "--worker-class", args.worker_class, "--threads", str(args.worker_threads), "--bind",
             f"127.0.0.1:{app_port}", "--backlog", "2048", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        )
        nginx = None
        try:
            wait_for(app_port, gunicorn)
            cookie = sign_in(app_port)
            if "officers" in scenarios:
                card = f"/r/buildings/{ids['building_id']}"
                mixed = []
                for n, path in enumerate(tile_paths):
                    if n % 16 == 0:
                        mixed.append(card)
                    mixed.append(path)
                script = wrk_script(folder, "officers", mixed, cookie)
                results["officers (cards + tiles, app)"] = run_wrk(app_port, script, args.seconds,
                                                                   args.connections, args.threads)
            if "app-tiles" in scenarios:
                script = wrk_script(folder, "tiles", tile_paths, cookie)
                results["tiles through the app"] = run_wrk(app_port, script, args.seconds, args.connections,
                                                           args.threads)
            if "nginx-tiles" in scenarios:
                nginx_port = free_port()
                conf = tile_front_conf(folder / "nginx", nginx_port, instance / "storage")
                nginx = subprocess.Popen(["/usr/sbin/nginx", "-p", str(folder / "nginx"), "-c", str(conf),
                                          "-e", str(folder / "nginx" / "error.log")])
                wait_for(nginx_port, nginx)
                settings = get_settings(create_app({"INSTANCE_PATH": str(instance), "TILE_URL_SECRET": SECRET,
                                                    "TILE_URL_BASE": "/t", "TILE_URL_LIFETIME_SECONDS": 3600}))
                template = tile_links.tile_url_template(settings, key, 1)
                signed = [tile_urls.tile_url_from_template(template, z, x, y) for z, x, y in tiles]
                script = wrk_script(folder, "signed", signed)
                results["signed tiles through nginx"] = run_wrk(nginx_port, script, args.seconds, args.connections,
                                                                args.threads)
        finally:
            gunicorn.terminate()
            gunicorn.wait(30)
            if nginx is not None:
                nginx.terminate()
                nginx.wait(30)

    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\n{machine_line(load_before)} (other work on the machine skews the figures)")
    threads = f" x {args.worker_threads} threads" if args.worker_class == "gthread" else ""
    print(f"gunicorn {args.workers} {args.worker_class} workers{threads}, {engine}, local-folder storage; "
          f"wrk {args.threads} threads, "
          f"{args.connections} connections, {args.seconds} s per scenario; tiles {TILE_BYTES} B\n")
    print_results(results)


if __name__ == "__main__":
    main()
