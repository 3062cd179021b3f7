"""Bulk import of a city's list of places of worship (``--rows`` buildings, 2,000 by default:
the largest city lists) from a messy CSV file (tests/import_data.py: BOM, semicolons,
decimal commas, blank lines, a repeated row, bad lines, unknown columns).

Times, on a temporary deployment: the command line's dry run, its import, its second run
(nothing to change), then the admin pages through the whole Flask stack (Flask's test client:
multipart upload, CSRF, the signed-in session), their jobs run at once (JOBS_IMMEDIATE, as a
worker would run them): the upload with its preview, and the confirmation with its import.
Wall-clock time and this process's CPU time (what the machine's other load does not change).
SQLite by default; ``--database-url postgresql://postgres@127.0.0.1:5432/postgres`` (a server
URL) makes a database of its own there and drops it afterwards.  Figures, never pass/fail.

    .venv/bin/python bench/import_csv.py [--rows 2000] [--database-url URL]
"""
from __future__ import annotations

import argparse
import io
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "correct horse battery staple"


class Timer:
    """Wall-clock and CPU seconds of a block, printed with a note."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def note(self, text: str) -> None:
        print(f"{self.what:<36} {self.wall:6.2f} s wall {self.cpu:6.2f} s CPU   {text}", flush=True)


def run(args: argparse.Namespace, database_url: str | None, folder: Path) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import func, select
    from werkzeug.security import generate_password_hash

    from floorplans import create_app
    from floorplans.db import db
    from floorplans.models import Building, Role, User
    from tests.conftest import IsolatedClient
    from tests.import_data import messy_csv

    url = database_url or f"sqlite:///{folder / 'import.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "bench",
                      "STORAGE_URL": str(folder / "storage"), "TWO_FACTOR_REQUIRED_ROLES": [],
                      "JOBS_IMMEDIATE": True})
    data, expected = messy_csv(args.rows)
    path = folder / "places.csv"
    path.write_bytes(data)
    print(f"{path.name}: {len(data) / 1024:.0f} KB, {args.rows:,} buildings, {len(expected.rejected)} bad lines")
    with app.app_context():
        upgrade()
        db.session.add(User(email="admin@example.org", role=Role.ADMIN.value, password_hash=generate_password_hash(
            PASSWORD)))
        db.session.commit()
        runner = app.test_cli_runner()
        for what, extra in (("command line, --dry-run", ["--dry-run"]), ("command line, import", []),
                            ("command line, the same file again", [])):
            with Timer(what) as timer:
                result = runner.invoke(args=["buildings", "import", str(path), *extra])
            assert result.exit_code == 0, result.output
            timer.note(next(line for line in result.output.splitlines() if " created, " in line))
        print(f"  {db.session.scalar(select(func.count(Building.id))):,} buildings on record")

        # The admin pages: another city's list, so the preview has everything to create.
        other, _ = messy_csv(args.rows, seed=99, numbers_from=100_000)
        app.test_client_class = IsolatedClient  # each request in a context of its own, as a server runs it
        client = app.test_client()
        same_site = {"Sec-Fetch-Site": "same-origin"}

        def csrf(url: str) -> str:
            page = client.get(url, headers=same_site).get_data(as_text=True)
            return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

        client.post("/login", data={"email": "admin@example.org", "password": PASSWORD, "csrf_token": csrf("/login")},
                    headers=same_site)
        token = csrf("/admin/import")
        with Timer("admin page, upload and preview") as timer:
            uploaded = client.post("/admin/import", data={"csrf_token": token, "file": (io.BytesIO(other), "city.csv")},
                                   headers=same_site)
            assert uploaded.status_code == 302, uploaded.get_data(as_text=True)[:3000]
            preview = client.get(uploaded.headers["Location"], headers=same_site)
        body = preview.get_data(as_text=True)
        assert "Preview of" in body, body[:2000]
        timer.note(f"{len(body) / 1024:.0f} KB page")
        with Timer("admin page, confirm and import") as timer:
            done = client.post(uploaded.headers["Location"] + "/confirm", data={"csrf_token": token},
                               headers=same_site)
            result = client.get(done.headers["Location"], headers=same_site).get_data(as_text=True)
        timer.note(re.search(r"<strong>(\d+)</strong> buildings? created", result).group(0))
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="buildings in the file")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()
    from own_run import on_own_database  # bench/own_run.py, beside this script

    on_own_database(args, run)


if __name__ == "__main__":
    main()
