"""Exports: how long a print packet, a page PNG and the markers GeoJSON take to make, and
how big they are, for corpus plans rendered at the production pixel budget (the app's
defaults) into a temporary instance (SQLite, local folder storage).

Generation is synchronous in the request; this says for which plans and papers that stays
within a few seconds.  Prints figures, never pass/fail.

    .venv/bin/python bench/exports.py [--plan plan-university-lab-5sheets-A2-autocad.pdf ...] [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_PLANS = ["plan-university-lab-5sheets-A2-autocad.pdf", "plan-conference-centre-lecture-halls-A4-vector.pdf",
                 "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", action="append", help="corpus file name (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from floorplans import create_app
    from floorplans.db import db

    print(f"# exports: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        app = create_app({"INSTANCE_PATH": str(base / "instance"), "DATABASE_URL": f"sqlite:///{base}/bench.sqlite3",
                          "STORAGE_URL": str(base / "storage"), "SECRET_KEY": "bench", "JOBS_IMMEDIATE": True})
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
