"""A province, not a town (issue 19): the queries at province size on PostgreSQL.

Makes a database of its own on a PostgreSQL server (dropped afterwards), migrates it and
loads a region: ``--buildings`` (20,000) buildings of ``--buildings / 10`` congregations,
two contacts, a gathering and a published plan each, officers and partners; then access and audit events
with ``INSERT ... SELECT generate_series`` in chunks of a million, until ``--events`` rows
(10 million, split evenly between the two logs) or until ``--load-seconds`` have gone by
(then the figures are at the size reached, which is printed).  ANALYZE, then gunicorn
(``--workers`` sync workers, 2 x cores) on loopback and ``wrk`` for ``--seconds`` per
scenario at each of ``--connections`` (4 and 64: with 64 clients on 4 workers a request
mostly waits its turn, p50 ~ 64 / req/s; with 4, one a worker, the latencies are the
requests' own on a machine kept busy), then with ``--cars`` (64) clients each waiting
``--think-ms`` (1 s) on average between an answer and its next request, as officers in
cars do (64 requests a second offered at most: a province's busiest hour asks far less), for
``--car-seconds`` (60: ~3,600 requests, so that their p99 is not a handful of them), each
cycling over many different requests:

- lookup: CAD addresses (``/r/lookup?address=...``; exact ones redirect to the card);
- near lookup: the same addresses one house number up, mostly nobody's (near matches: every
  building on that street is a candidate, the most judged);
- search: name-or-address words (``/r/?q=...``);
- nearest: points over the region (``/r/nearest?lat=..&lon=..``);
- card: the officer card (``/r/buildings/<id>``; it writes an access event);
- plan page: the plan viewer's page (``/r/buildings/<id>/plan``; every building has a
  published plan of 1-5 sheets, recorded as the render records it, its tiles not stored);
- lists: admin lists a page at a time (buildings by page and by search, accounts, congregations);
- keep offline: what "keep my area offline" fetches for the buildings within 2-25 km of a
  point (at most 300, nearest first), and for a city (no goal in the issue: 1 s here);
- logs: the access log and the audit log, filtered (building, reader, action, dates) and
  paged back (``before=``), and a partner's "Who looked" for one building.

Each scenario first runs ``--warmup`` seconds (5) not counted: a worker's first requests of a
kind compile their SQL and templates, ~100 ms each, which would otherwise be the p99s.
Figures, never pass/fail; the issue's goals on 2 cores: lookup, search and nearest p99 <=
50 ms; lists and logs p99 <= 200 ms; card p99 <= 100 ms.

    .venv/bin/python bench/scale.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--buildings 20000] [--events 10000000] [--load-seconds 300] [--seconds 20] [--only nearest]
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import free_port, own_database, run_wrk, signed_in, wait_for, wrk_script  # noqa: E402

PASSWORD = "bench password, long enough"
CITIES = [("Toronto", 43.70, -79.40), ("Ottawa", 45.42, -75.69), ("Hamilton", 43.26, -79.87),
          ("London", 42.98, -81.25), ("Windsor", 42.31, -83.04), ("Kingston", 44.23, -76.49),
          ("Sudbury", 46.49, -80.99), ("Barrie", 44.39, -79.69), ("Guelph", 43.55, -80.25),
          ("Markham", 43.86, -79.34), ("Brampton", 43.73, -79.76), ("Thunder Bay", 48.38, -89.25)]
STREETS = ["Main", "King", "Queen", "Church", "Elm", "Maple", "Oak", "Victoria", "Wellington", "Dundas",
           "Bloor", "College", "Yonge", "Bay", "Front", "Water", "Mill", "Park", "Lake", "Hill"]
TYPES = [("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr")]
NAMES = ["St. Mary", "Beth Shalom", "Grace Chapel", "Masjid Al-Noor", "Knox Presbyterian", "Sri Ganesha Temple",
         "Gurdwara Sahib", "St. George", "Holy Trinity", "First Baptist", "Christ Church", "Temple Sinai"]
ACCESS_ACTIONS = ["view_record", "view_plan", "view_plan", "view_record", "export.packet"]
AUDIT_ACTIONS = ["building.update", "login.success", "contact.update", "plan.publish", "login.failure",
                 "marker.place", "account.update", "building.view"]


def _publish_plans(building_ids: list[int], rng: random.Random) -> None:
    """A published plan of 1-5 sheets for every building, as the render records it (size,
    pyramid, tiles and their bytes), so the card, the plan page and "keep offline" read what
    they read in a province.  The tiles themselves are not stored: no page here fetches one
    (bench/load.py measures the tile route), and ~3 million objects would take moto hours."""
    import datetime as dt

    from sqlalchemy import insert, text

    from floorplans.db import db
    from floorplans.models import PlanPage, PlanVersion

    now = dt.datetime(2026, 11, 1)
    sheets = {b: rng.choice((1, 1, 2, 3, 5)) for b in building_ids}
    db.session.execute(insert(PlanVersion), [
        {"building_id": b, "number": 1, "key": f"bench{b:011d}", "state": "ready", "original_sha256": "0" * 64,
         "original_filename": "plan.pdf", "original_bytes": 2_000_000, "page_count": sheets[b],
         "pages_done": sheets[b], "tiles_total": 1_200 * sheets[b], "tiles_done": 1_200 * sheets[b],
         "created_at": now, "finished_at": now, "published_at": now} for b in building_ids])
    versions = dict(db.session.execute(text("SELECT building_id, id FROM plan_versions")).all())
    db.session.execute(insert(PlanPage), [
        {"version_id": versions[b], "number": n, "position": n, "label": f"Floor {n}", "width_pt": 1224.0,
         "height_pt": 792.0, "width": 8500, "height": 5500, "tile_size": 256, "max_zoom": 6, "kind": "vector",
         "tiles": 1_200, "tile_bytes": 1_200 * 1_400} for b in building_ids for n in range(1, sheets[b] + 1)])
    db.session.execute(text("UPDATE buildings SET published_version_id = v.id FROM plan_versions v "
                            "WHERE v.building_id = buildings.id"))


def load_region(database_url: str, instance: Path, args: argparse.Namespace) -> dict[str, Any]:
    from flask_migrate import upgrade
    from sqlalchemy import insert, text
    from werkzeug.security import generate_password_hash

    from floorplans import create_app
    from floorplans.db import db
    from floorplans.models import Building, Contact, Gathering, Organisation, Role, User
    from floorplans.models.accounts import index_for_choosing
    from floorplans.models.buildings import index_for_finding
    from floorplans.search import normalise

    rng = random.Random(19)
    app = create_app({"INSTANCE_PATH": str(instance), "STORAGE_URL": str(instance / "storage"),
                      "DATABASE_URL": database_url})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        n_orgs = max(1, args.buildings // 10)
        db.session.execute(insert(Organisation), [{"name": f"Congregation {n:05d}", "faith_tradition": "Christian"}
                                                  for n in range(n_orgs)])
        index_for_choosing(db.session.connection())  # the names the congregation choice searches (no listeners)
        org_ids = list(db.session.scalars(text("SELECT id FROM organisations ORDER BY id")))
        password = generate_password_hash(PASSWORD)
        users = [{"email": "admin@bench.example", "role": Role.ADMIN.value, "password_hash": password},
                 {"email": "officer@bench.example", "role": Role.OFFICER.value, "password_hash": password},
                 {"email": "partner@bench.example", "role": Role.PARTNER.value, "password_hash": password,
                  "organisation_id": org_ids[0]}]
        users += [{"email": f"officer-{n:04d}@police.example", "role": Role.OFFICER.value, "password_hash": "!",
                   "agency": "OPP"} for n in range(500)]
        users += [{"email": f"partner-{n:05d}@faith.example", "role": Role.PARTNER.value, "password_hash": "!",
                   "organisation_id": org_ids[n % len(org_ids)]} for n in range(n_orgs)]
        db.session.execute(insert(User), users)
        buildings, addresses, near_addresses = [], [], []
        for n in range(args.buildings):
            city, lat, lon = CITIES[n % len(CITIES)] if n % 5 else CITIES[0]
            number, street, (kind, short) = rng.randint(1, 3000), rng.choice(STREETS), rng.choice(TYPES)
            name = f"{rng.choice(NAMES)} {n}"
            street_text = f"{number} {street} {kind}"
            buildings.append({
                "organisation_id": org_ids[n % len(org_ids)], "name": name, "street": street_text, "city": city,
                "region": "ON", "postal_code": "", "latitude": lat + rng.gauss(0, 0.08),
                "longitude": lon + rng.gauss(0, 0.1), "search_text": normalise(f"{name} {street_text} {city}"),
            })
            addresses.append(f"{number} {street} {short}, {city}")
            # Usually no building at the next number: the near-match path (what differs, closest first).
            near_addresses.append(f"{number + 1} {street} {short}, {city}")
        db.session.execute(insert(Building), buildings)
        building_ids = list(db.session.scalars(text("SELECT id FROM buildings ORDER BY id")))
        # A bulk insert bypasses the ORM's listeners: the search words index (building_words) by hand.
        index_for_finding(db.session.connection(), building_ids)
        db.session.execute(insert(Contact), [{"building_id": b, "position": p, "name": f"Contact {b}-{p}",
                                              "phone": "416-555-0100"} for b in building_ids for p in (0, 1)])
        import datetime as dt
        db.session.execute(insert(Gathering), [{"building_id": b, "label": "Weekly service", "weekday": 6,
                                                "start_time": dt.time(10), "end_time": dt.time(12)}
                                               for b in building_ids])
        _publish_plans(building_ids, rng)
        db.session.commit()
        records_seconds = time.perf_counter() - started
        user_count = db.session.scalar(text("SELECT count(*) FROM users"))
        first_building, last_building = building_ids[0], building_ids[-1]
        # The logs: one statement a million rows, oldest first (the id follows the time).
        started, loaded = time.perf_counter(), {"access_events": 0, "audit_events": 0}
        chunk, half = 1_000_000, args.events // 2
        access_actions = "ARRAY[" + ",".join(f"'{a}'" for a in ACCESS_ACTIONS) + "]"
        audit_actions = "ARRAY[" + ",".join(f"'{a}'" for a in AUDIT_ACTIONS) + "]"
        while (loaded["access_events"] < half or loaded["audit_events"] < half) \
                and time.perf_counter() - started < args.load_seconds:
            for table in ("access_events", "audit_events"):
                rows = min(chunk, half - loaded[table])
                if rows <= 0:
                    continue
                low = loaded[table] + 1
                span = f"generate_series({low}::bigint, {low + rows - 1}::bigint) AS g"
                # Spread over a year: 10 M rows, one every ~3 s.
                at = f"timestamp '2025-12-01' + g * interval '1 second' * {31_536_000 / max(half, 1):.6f}"
                building = f"{first_building} + (g * 7919) % {last_building - first_building + 1}"
                user = f"1 + (g * 104729) % {user_count}"
                if table == "access_events":
                    sql = (f"INSERT INTO access_events (at, user_id, building_id, action, channel, ip_address, detail) "
                           f"SELECT {at}, {user}, {building}, ({access_actions})[1 + g % {len(ACCESS_ACTIONS)}], "
                           f"'web', '10.0.' || (g % 250) || '.' || (g % 199), '' FROM {span}")
                else:
                    sql = (f"INSERT INTO audit_events (at, action, actor_id, actor_email, actor_role, channel, "
                           f"ip_address, address_key, organisation_id, building_id, target_type, target_id, detail) "
                           f"SELECT {at}, ({audit_actions})[1 + g % {len(AUDIT_ACTIONS)}], {user}, "
                           f"'user-' || ({user}) || '@bench.example', 'officer', 'web', '10.1.0.' || (g % 250), "
                           f"'10.1.0.' || (g % 250), NULL, {building}, 'building', {building}, "
                           f"'{{\"changes\": {{\"name\": [\"a\", \"b\"]}}}}'::json FROM {span}")
                db.session.execute(text(sql))
                db.session.commit()
                loaded[table] += rows
                print(f"  {table}: {loaded[table]:,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
        events_seconds = time.perf_counter() - started
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # VACUUM too, as autovacuum would have by then: index-only scans need the visibility map.
            connection.execute(text("VACUUM ANALYZE"))
            # And the load's dirty pages written now, not by the checkpointer during the
            # first scenarios' minutes (gigabytes of them after 10 M events).
            connection.execute(text("CHECKPOINT"))
        counts = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}"))
                  for t in ("buildings", "contacts", "gatherings", "users", "organisations", "access_events",
                            "audit_events")}
        max_access = db.session.scalar(text("SELECT max(id) FROM access_events")) or 1
        max_audit = db.session.scalar(text("SELECT max(id) FROM audit_events")) or 1
        db.session.remove()
        db.engine.dispose()
    return {"counts": counts, "records_seconds": records_seconds, "events_seconds": events_seconds,
            "building_ids": building_ids, "addresses": addresses, "near_addresses": near_addresses,
            "buildings": buildings,
            "max_access": max_access, "max_audit": max_audit, "partner_building": building_ids[0],
            "user_count": user_count}


def scenarios(region: dict[str, Any], rng: random.Random) -> dict[str, tuple[str, list[str]]]:
    """Each scenario: whose session, and the paths wrk cycles over."""
    from urllib.parse import quote

    ids, addresses, buildings = region["building_ids"], region["addresses"], region["buildings"]
    picks = rng.sample(range(len(ids)), min(500, len(ids)))
    words = ["st mary", "beth", "grace chapel", "masjid", "main", "king st", "toronto", "temple", "holy", "knox 1"]
    pages = max(1, len(ids) // 100)
    max_access, max_audit = region["max_access"], region["max_audit"]
    day = lambda n: f"2026-{1 + n % 10:02d}-{1 + n % 27:02d}"  # noqa: E731
    logs = []
    for n in range(200):
        b = ids[rng.randrange(len(ids))]
        logs += [f"/admin/access-log?building={b}", f"/admin/access-log?before={rng.randint(2, max_access)}",
                 f"/admin/access-log?action=export.packet&before={rng.randint(2, max_access)}",
                 f"/admin/access-log?who=officer-{n:04d}@police.example",
                 f"/admin/access-log?start={day(n)}&end={day(n)}",
                 f"/admin/audit?building={b}", f"/admin/audit?action=plan.publish&before={rng.randint(2, max_audit)}",
                 "/admin/audit?group=account", f"/admin/audit?start={day(n)}&end={day(n)}"]
    return {
        "lookup": ("officer", [f"/r/lookup?address={quote(addresses[i])}" for i in picks]),
        "near lookup": ("officer", [f"/r/lookup?address={quote(region['near_addresses'][i])}" for i in picks]),
        "search": ("officer", [f"/r/?q={quote(w + ' ' + str(n))}" if n % 2 else f"/r/?q={quote(w)}"
                               for n in range(50) for w in words]),
        "nearest": ("officer", [f"/r/nearest?lat={buildings[i]['latitude'] + rng.gauss(0, 0.05):.5f}"
                                f"&lon={buildings[i]['longitude'] + rng.gauss(0, 0.05):.5f}" for i in picks]),
        "card": ("officer", [f"/r/buildings/{ids[i]}" for i in picks]),
        "plan page": ("officer", [f"/r/buildings/{ids[i]}/plan" for i in picks]),
        "lists": ("admin", [f"/portal/?page={rng.randint(1, pages)}" for _ in range(100)]
                  + [f"/portal/?q={quote(w)}&page={rng.randint(1, 3)}" for w in words for _ in range(5)]
                  + [f"/admin/users?page={rng.randint(1, 1 + region['user_count'] // 100)}" for _ in range(100)]
                  + [f"/admin/organisations?page={rng.randint(1, 1 + len(ids) // 1000)}" for _ in range(100)]),
        # "Keep my area offline": what to fetch for the buildings within 2-25 km (at most 300,
        # nearest first), and "keep this city" (at most 300 of a city's thousands).
        "keep offline": ("officer", [f"/r/offline/pack?lat={buildings[i]['latitude']:.5f}"
                                     f"&lon={buildings[i]['longitude']:.5f}&km={(2, 5, 10, 25)[n % 4]}"
                                     for n, i in enumerate(picks[:100])]
                         + [f"/r/offline/pack?city={quote(city)}" for city, _, _ in CITIES]),
        "logs": ("admin", logs),
        "who looked": ("partner", [f"/portal/buildings/{region['partner_building']}/access-log",
                                   f"/portal/buildings/{region['partner_building']}/access-log?action=view_plan"]),
    }


def _proxy(folder: Path, app_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """nginx in front of gunicorn on a port of its own, as docs/operations.md deploys it."""
    from bench.nginx import nginx_conf

    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = nginx_conf(folder, port, f"location / {{ proxy_pass http://127.0.0.1:{app_port}; "
                                    "proxy_set_header Host $http_host; }", tuned=True)
    nginx = subprocess.Popen(["/usr/sbin/nginx", "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")])
    wait_for(port, nginx)
    return nginx, port


DRAIN_SECONDS = 3
# Not asked by every car every second: keeping an area offline is once a shift.
ONCE_A_SHIFT = {"keep offline"}
GOALS = {"lookup": 50, "near lookup": 50, "search": 50, "nearest": 50, "card": 100, "plan page": 100, "lists": 200,
         "keep offline": 1000, "logs": 200,
         "who looked": 200}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--buildings", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10_000_000, help="access + audit events")
    parser.add_argument("--load-seconds", type=float, default=300, help="stop loading events after this")
    parser.add_argument("--seconds", type=int, default=20, help="wrk seconds per scenario")
    parser.add_argument("--connections", default="4,64", help="wrk connections, comma-separated: one run each")
    parser.add_argument("--cars", type=int, default=64,
                        help="then this many clients each waiting --think-ms on average between requests (0: none)")
    parser.add_argument("--think-ms", type=float, default=1000.0)
    parser.add_argument("--car-seconds", type=int, default=60,
                        help="wrk seconds of the cars' run: at ~60 requests a second, 15 s is ~900 requests, "
                             "whose p99 is their 9th slowest")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of each scenario run first, not counted")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--only", action="append")
    parser.add_argument("--check", action="store_true", help="check that every kind of request answers; no wrk")
    args = parser.parse_args()
    rng = random.Random(1919)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    connection_counts = [int(n) for n in args.connections.split(",")]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="floorplans-scale-") as tmp, own_database(args.database_url) as url:
        assert url is not None
        folder = Path(tmp)
        instance = folder / "instance"
        region = load_region(url, instance, args)
        print(f"loaded: {region['counts']}; records {region['records_seconds']:.0f} s, "
              f"events {region['events_seconds']:.0f} s", flush=True)
        env = {**os.environ, "FLOORPLANS_INSTANCE_PATH": str(instance),
               "FLOORPLANS_STORAGE_URL": str(instance / "storage"), "FLOORPLANS_DATABASE_URL": url,
               # The bench admin signs in with a password only (no TOTP enrolment between it and the lists).
               "FLOORPLANS_TWO_FACTOR_REQUIRED_ROLES": "[]"}
        port = free_port()
        gunicorn = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(args.workers), "--bind",
             f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        )
        nginx = None
        try:
            wait_for(port, gunicorn)
            if args.cars:
                nginx, nginx_port = _proxy(folder / "nginx", port)
            cookies, sessions = {}, {}
            for who in ("officer", "admin", "partner"):
                sessions[who] = signed_in(port, f"{who}@bench.example", PASSWORD)
                cookies[who] = "; ".join(f"{c.name}={c.value}" for c in sessions[who].cookies)
            for name, (who, paths) in scenarios(region, rng).items():
                if args.only and name not in args.only:
                    continue
                # wrk counts only 4xx/5xx as errors: check that each kind of request answers.
                for path in paths[:: max(1, len(paths) // 5)]:
                    answer = sessions[who].get(f"http://127.0.0.1:{port}{path}", allow_redirects=False, timeout=30)
                    assert answer.status_code == 200 or ("lookup" in name and answer.status_code == 302
                                                         and "/r/buildings/" in answer.headers["Location"]), \
                        (name, path, answer.status_code, answer.headers.get("Location"))
                if args.check:
                    print(f"  {name}: answers", flush=True)
                    continue
                script = wrk_script(folder, name.replace(" ", "_"), paths, cookies[who])
                if args.warmup:
                    # Discarded: each worker's first requests of a kind compile its SQL and
                    # templates (~100 ms each), which a long-running worker did long ago.
                    run_wrk(port, script, args.warmup, 4, 2)
                runs = [(str(n), n, script) for n in connection_counts]
                if args.cars and name not in ONCE_A_SHIFT:
                    paced = wrk_script(folder, name.replace(" ", "_"), paths, cookies[who], think_ms=args.think_ms)
                    runs.append((f"{args.cars} cars", args.cars, paced))
                for clients, connections, used in runs:
                    # wrk stops with up to 64 requests still queued at the workers: they are
                    # answered before the next run starts, or its first requests wait for them.
                    time.sleep(DRAIN_SECONDS)
                    # Cars through nginx, as deployed: a sync worker would sit on a car's
                    # open connection while its officer reads; nginx holds those instead.
                    target = nginx_port if "cars" in clients else port
                    seconds = args.car_seconds if "cars" in clients else args.seconds
                    r = results[(name, clients)] = run_wrk(target, used, seconds, connections,
                                                           min(args.threads, connections))
                    print(f"  {name}, {clients} clients: {r['rps']:.0f}/s p50 {r['p50_ms']:.1f} ms "
                          f"p99 {r['p99_ms']:.1f} ms errors {r['errors']}", flush=True)
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait(30)
            gunicorn.terminate()
            gunicorn.wait(30)
    print(f"\n{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; 1-minute load "
          f"average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"PostgreSQL; rows: {region['counts']}; gunicorn {args.workers} sync workers; wrk {args.threads} "
          f"threads, {args.seconds} s per scenario and number of clients ({args.car_seconds} s for the cars) "
          f"after {args.warmup} s not counted; cars wait {args.think_ms:.0f} ms on "
          f"average between an answer and their next request\n")
    print("| scenario | clients | requests | req/s | p50 ms | p99 ms | goal p99 | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, connections), r in results.items():
        print(f"| {name} | {connections} | {r['requests']:,} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
              f"| {GOALS[name]} | {r['errors']} |")


if __name__ == "__main__":
    main()
