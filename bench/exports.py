"""Exports: how long a print packet, a page PNG and the markers GeoJSON take to make, and
how big they are, for corpus plans rendered at the production pixel budget (the app's
defaults) into a temporary instance (SQLite, and local folder storage or, with ``--s3``, a
bucket on moto's S3 server started in its own process on 127.0.0.1).

Generation is synchronous in the request; this says for which plans and papers that stays
within a few seconds.  Prints figures, never pass/fail.

    .venv/bin/python bench/exports.py [--plan plan-university-lab-5sheets-A2-autocad.pdf ...] [--runs 3] [--s3]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_PLANS = ["plan-university-lab-5sheets-A2-autocad.pdf", "plan-conference-centre-lecture-halls-A4-vector.pdf",
                 "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf"]


@contextlib.contextmanager
def s3_bucket() -> Iterator[str]:
    """A bucket on a moto S3 server in its own process; yields its storage URL, with boto3's
    standard settings (environment) pointed at it."""
    import boto3
    from load import free_port  # bench/load.py, beside this script

    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
                           "AWS_EC2_METADATA_DISABLED": "true"})
        client = boto3.client("s3")
        for _ in range(100):
            try:
                client.create_bucket(Bucket="bench-exports")
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.1)
        yield "s3://bench-exports/floorplans"
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", action="append", help="corpus file name (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="store the tiles in S3 (moto) instead of a local folder")
    parser.add_argument("--s3-latency-ms", type=float, default=0.0,
                        help="with --s3, wait this long before each object read, as a network round trip would "
                             "(moto on loopback answers in about a millisecond; S3 from a data centre in ~10-30)")
    args = parser.parse_args()
    with s3_bucket() if args.s3 else contextlib.nullcontext(None) as storage_url:
        run(args, storage_url)


def run(args: argparse.Namespace, storage_url: str | None) -> None:
    from floorplans import create_app
    from floorplans.db import db

    print(f"# exports: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.1f}, storage {'S3 (moto)' if storage_url else 'local folder'}"
          + (f", {args.s3_latency_ms:g} ms added to each read" if storage_url and args.s3_latency_ms else ""))
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        app = create_app({"INSTANCE_PATH": str(base / "instance"), "DATABASE_URL": f"sqlite:///{base}/bench.sqlite3",
                          "STORAGE_URL": storage_url or str(base / "storage"), "SECRET_KEY": "bench",
                          "JOBS_IMMEDIATE": True})
        if storage_url and args.s3_latency_ms:
            delay = args.s3_latency_ms / 1000
            app.extensions["floorplans.storage"].client.meta.events.register(
                "before-send.s3.GetObject", lambda **_: time.sleep(delay))  # None: the request goes on to moto
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            from floorplans.jobs import queue_render
            from floorplans.models import Building, Organisation, PlanVersion, Role, User
            from floorplans.models.planning import Marker
            from floorplans.services import exports, plans

            organisation = Organisation(name="Bench congregation", faith_tradition="Sikh")
            officer = User(email="officer@example.org", role=Role.OFFICER.value, password_hash="-", name="Bench")
            db.session.add_all([organisation, officer])
            for name in args.plan or DEFAULT_PLANS:
                building = Building(organisation=organisation, name=name, street="1 Bench Street")
                db.session.add(building)
                db.session.commit()
                started = time.perf_counter()
                with (CORPUS / name).open("rb") as stream:
                    version = plans.upload_plan(building, stream, name, by=officer)
                db.session.commit()
                queue_render(version.id)
                db.session.expire_all()
                version = db.session.get(PlanVersion, version.id)
                for page in version.pages:
                    page.hidden = False  # every sheet in the packet, as before sheets could be hidden
                plans.publish(version, by=None)  # the partner's review, skipped here
                db.session.commit()
                pages = list(version.pages)
                for page in pages:
                    db.session.add(Marker(building_id=building.id, page_id=page.id, kind="door", x=0.3, y=0.6,
                                          number=1, side="A", label="Main entrance"))
                db.session.commit()
                print(f"\n## {name}: {len(pages)} pages of {pages[0].width} x {pages[0].height} px at full zoom "
                      f"(rendered in {time.perf_counter() - started:.0f} s)")
                print("| export | median s | bytes |\n|---|---|---|")

                def measure(label: str, make) -> None:  # type: ignore[no-untyped-def]
                    times, size = [], 0
                    for _ in range(args.runs):
                        begun = time.perf_counter()
                        size = len(make())
                        times.append(time.perf_counter() - begun)
                        db.session.commit()
                    print(f"| {label} | {statistics.median(times):.2f} | {size:,} |", flush=True)

                building_id, number = building.id, pages[0].number
                for paper in ("letter", "tabloid"):
                    measure(f"packet {paper}", lambda p=paper, b=building_id: exports.packet_download(
                        officer, b, paper=p).data)
                for width in (1000, 4000):
                    measure(f"page 1 PNG {width} px", lambda w=width, b=building_id, n=number: exports.page_png(
                        officer, b, n, width=w).data)
                measure("markers GeoJSON", lambda b=building_id: repr(exports.geojson_download(officer, b)[0]))

if __name__ == "__main__":
    main()
