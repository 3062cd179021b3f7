"""Upload to published: how long the render job takes for corpus plans, and how much of it
is storing the tiles after the last page is rendered (the job stores each page while the
workers render the next; floorplans.services.rendering).

Each plan is uploaded into a temporary instance (SQLite, the app's default render settings,
local folder storage or, with ``--s3``, a bucket on moto's S3 server in its own process)
and its job run in this process, as the consumer runs it. Prints figures, never pass/fail.

    .venv/bin/python bench/publish.py [--plan NAME ...] [--s3] [--put-latency-ms 20]

moto answers on loopback in about a millisecond but spends this machine's two cores doing
it, which the render needs too; S3 from a data centre answers a PUT in ~10-30 ms and
spends none of our CPU. --put-latency-ms adds such a wait before every object stored, with
16 threads storing as for S3 (storage.from_url's default), to see a remote store's latency
without moto's CPU (on a local folder) or on top of it (with --s3).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from exports import CORPUS, ROOT, s3_bucket  # bench/exports.py, beside this script

DEFAULT_PLANS = [
    "plan-university-lab-5sheets-A2-autocad.pdf",
    "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf",
    "plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", action="append", help="corpus file name (repeatable)")
    parser.add_argument("--s3", action="store_true", help="store the tiles in S3 (moto) instead of a local folder")
    parser.add_argument(
        "--put-latency-ms", type=float, default=0.0, help="wait this long before each object stored, 16 threads"
    )
    args = parser.parse_args()
    with s3_bucket() if args.s3 else contextlib.nullcontext(None) as storage_url:
        run(args, storage_url)


def run(args: argparse.Namespace, storage_url: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    import converters
    from floorplans import create_app, objects
    from floorplans.db import db
    from floorplans.models import Building, Organisation, Role, User
    from floorplans.services import plans, rendering

    latency = args.put_latency_ms / 1000
    print(
        f"# publish: {platform.platform()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
        f"storage {'S3 (moto)' if storage_url else 'local folder'}"
        + (f", {args.put_latency_ms:g} ms added to each object stored (16 threads)" if latency else "")
    )
    print("| plan | pages | tiles | job s | rendering s | storing after the render s |\n|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        app = create_app(
            {
                "INSTANCE_PATH": str(base / "instance"),
                "DATABASE_URL": f"sqlite:///{base}/bench.sqlite3",
                "STORAGE_URL": storage_url or str(base / "storage"),
                "SECRET_KEY": "bench",
                "JOBS_IMMEDIATE": False,  # the job runs below, timed
            }
        )
        with app.app_context():
            upgrade()
            if latency:
                store = objects.get_storage()
                store.max_workers = 16
                put_one = store._put_one

                def remote(*positional, **named):  # type: ignore[no-untyped-def]
                    time.sleep(latency)  # a network round trip: waiting, no CPU
                    return put_one(*positional, **named)

                store._put_one = remote  # type: ignore[method-assign]
            organisation = Organisation(name="Bench congregation", faith_tradition="Hindu")
            partner = User(email="partner@example.org", role=Role.PARTNER.value, password_hash="-", name="Bench")
            partner.organisation = organisation
            db.session.add_all([organisation, partner])
            db.session.commit()
            rendered: list[float] = []
            render_pages = converters.render_pages

            def timed(*positional, **named):  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                try:
                    return render_pages(*positional, **named)
                finally:
                    rendered.append(time.perf_counter() - started)

            converters.render_pages = timed  # what rendering.render_version calls
            for name in args.plan or DEFAULT_PLANS:
                building = Building(organisation=organisation, name=name, street="1 Bench Street")
                db.session.add(building)
                db.session.commit()
                with (CORPUS / name).open("rb") as stream:
                    version = plans.upload_plan(building, stream, name, by=partner)
                db.session.commit()
                started = time.perf_counter()
                finished = rendering.render_version(version.id)
                job = time.perf_counter() - started
                if finished is None or finished.state != "ready":
                    raise SystemExit(f"{name}: the job did not finish: {finished and finished.error}")
                print(
                    f"| {name.removeprefix('plan-').removesuffix('.pdf')} | {finished.page_count} "
                    f"| {finished.tiles_total:,} | {job:.2f} | {rendered[-1]:.2f} | {job - rendered[-1]:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
