"""`flask plans cleanup` at a province's size (issue 19): a store of millions of tiles.

Makes a PostgreSQL database of its own (dropped afterwards; ``--database-url ''``: SQLite)
with ``--versions`` buildings, each with a published plan, and ``--superseded`` of them
with an older version replaced a month ago (past the 7-day grace period), whose tiles
cleanup removes; and a store holding ``--tiles`` tiles for every version (a pyramid's
layout, ``objects.tile_key``) plus ``--orphans`` version folders nobody recorded.  Then:

- the orphan scan's two ways of reading the store: every tile key (``Storage.list``, what
  cleanup did before) against the version folders (``Storage.folders``, what it does now);
- ``cleanup_plans`` itself: seconds, versions and objects removed.

On a local folder (``--store local``, the embedded default) at full size: 20,000 versions
of 150 tiles is 3 million files.  On moto's S3 server (``--store s3``) loading is ~300
objects a second, so use fewer (``--versions 2000 --tiles 3``); the requests are counted.
Figures, never pass/fail.

    .venv/bin/python bench/cleanup.py [--store local|s3] [--versions 20000] [--tiles 150]
        [--superseded 0.1] [--orphans 20]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.load import own_database  # noqa: E402

NOW = dt.datetime(2026, 12, 1)


def pyramid(version_key: str, tiles: int) -> Iterator[str]:
    """The keys of a page's first ``tiles`` tiles, zoom level by zoom level."""
    from floorplans import objects

    made, z = 0, 0
    while made < tiles:
        side = 2 ** z
        for x in range(side):
            for y in range(side):
                if made == tiles:
                    return
                yield objects.tile_key(version_key, 1, z, x, y)
                made += 1
        z += 1


def write_local(root: Path, keys: Iterator[str]) -> int:
    """Files written straight into the store's folder (put() makes a temporary file and renames
    it, ~10x slower, which would make loading 3 million the bench's whole time)."""
    count, made = 0, set()
    for key in keys:
        path = root.joinpath(*key.split("/"))
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(b"tile")
        count += 1
    return count


def load(args: argparse.Namespace, database_url: str, storage_url: str, instance: Path) -> dict[str, int]:
    from flask_migrate import upgrade
    from sqlalchemy import insert, select, text

    from floorplans import create_app, objects
    from floorplans.db import db
    from floorplans.models import Building, Organisation, PlanVersion

    app = create_app({"INSTANCE_PATH": str(instance), "STORAGE_URL": storage_url, "DATABASE_URL": database_url,
                      "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        db.session.execute(insert(Organisation), [{"name": "Bench congregation", "faith_tradition": "Christian"}])
        organisation_id = db.session.scalar(select(Organisation.id))
        db.session.execute(insert(Building), [{"organisation_id": organisation_id, "name": f"Church {n}"}
                                              for n in range(args.versions)])
        ids = list(db.session.scalars(select(Building.id).order_by(Building.id)))
        superseded = set(ids[:: max(1, round(1 / args.superseded))]) if args.superseded else set()
        month_ago = NOW - dt.timedelta(days=30)
        rows = [{"building_id": b, "number": n, "key": f"bench{b:08d}v{n}", "state": "ready", "page_count": 1,
                 "original_sha256": "0" * 64, "original_filename": "plan.pdf", "original_bytes": 1,
                 "created_at": month_ago, "finished_at": month_ago, "published_at": month_ago}
                for b in ids for n in ((1, 2) if b in superseded else (1,))]
        db.session.execute(insert(PlanVersion), rows)
        db.session.execute(text("UPDATE buildings SET published_version_id = (SELECT max(v.id) FROM plan_versions v "
                                "WHERE v.building_id = buildings.id)"))
        db.session.commit()
        keys = [row["key"] for row in rows] + [f"orphan{n:04d}" for n in range(args.orphans)]
        every = (key for version_key in keys for key in pyramid(version_key, args.tiles))
        started = time.perf_counter()
        store = objects.get_storage()
        if args.store == "local":
            stored = write_local(Path(storage_url), every)
        else:
            stored = store.put_many((key, b"tile", None) for key in every)
        print(f"loaded: {len(rows):,} versions ({len(superseded):,} superseded), {args.orphans} orphan folders, "
              f"{stored:,} tiles in {time.perf_counter() - started:.0f} s", flush=True)
    return {"versions": len(rows), "superseded": len(superseded), "tiles": stored}


def measure(args: argparse.Namespace, database_url: str, storage_url: str, instance: Path) -> None:
    from floorplans import create_app, objects
    from floorplans.db import db
    from floorplans.services.cleanup import cleanup_plans

    app = create_app({"INSTANCE_PATH": str(instance), "STORAGE_URL": storage_url, "DATABASE_URL": database_url,
                      "SECRET_KEY": "bench"})
    with app.app_context():
        store = objects.get_storage()
        requests = [0]
        if args.store == "s3":
            store.client.meta.events.register("before-send.s3", lambda **_: requests.__setitem__(0, requests[0] + 1))

        def timed(label: str, work: object) -> object:
            requests[0] = 0
            started = time.perf_counter()
            result = work()  # type: ignore[operator]
            seconds = time.perf_counter() - started
            asked = f", {requests[0]:,} S3 requests" if args.store == "s3" else ""
            print(f"{label}: {seconds:.2f} s{asked}", flush=True)
            return result

        every = timed("orphan scan before: every tile key listed",
                      lambda: sum(1 for _ in store.list(objects.TILES_PREFIX)))
        folders = timed("orphan scan now: the version folders listed",
                        lambda: len(list(store.folders(objects.TILES_PREFIX))))
        print(f"  ({every:,} keys; {folders:,} folders)")
        started = time.perf_counter()
        requests[0] = 0
        report = cleanup_plans(grace=dt.timedelta(days=7), now=NOW)
        db.session.commit()
        seconds = time.perf_counter() - started
        asked = f", {requests[0]:,} S3 requests" if args.store == "s3" else ""
        print(f"cleanup: {seconds:.1f} s{asked}: {len(report.versions):,} versions and {len(report.orphans)} orphans, "
              f"{report.objects_deleted:,} objects removed ({report.objects_deleted / seconds:,.0f} a second)")
        started = time.perf_counter()
        again = cleanup_plans(grace=dt.timedelta(days=7), now=NOW)
        print(f"cleanup again, nothing to remove: {time.perf_counter() - started:.1f} s "
              f"({len(again.versions)} versions, {again.objects_deleted} objects)")
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--store", choices=["local", "s3"], default="local")
    parser.add_argument("--versions", type=int, default=20_000, help="buildings, each with a published version")
    parser.add_argument("--tiles", type=int, default=150, help="tiles a version")
    parser.add_argument("--superseded", type=float, default=0.1, help="share with an older version to remove")
    parser.add_argument("--orphans", type=int, default=20)
    args = parser.parse_args()
    print(f"# cleanup: {platform.platform()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"store {args.store}, database {'PostgreSQL' if args.database_url else 'SQLite'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="floorplans-cleanup-") as tmp, own_database(args.database_url) as url:
        folder = Path(tmp)
        database_url = url or f"sqlite:///{folder}/bench.sqlite3"
        if args.store == "local":
            load(args, database_url, str(folder / "storage"), folder / "instance")
            measure(args, database_url, str(folder / "storage"), folder / "instance")
        else:
            from exports import s3_bucket  # bench/exports.py: moto in its own process

            with s3_bucket() as storage_url:
                load(args, database_url, storage_url, folder / "instance")
                measure(args, database_url, storage_url, folder / "instance")
    print(f"# load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
