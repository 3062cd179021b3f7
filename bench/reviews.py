"""The administrators' review queue over a large audit log.

A temporary deployment gets ``--buildings`` buildings and an audit log of ``--events``
officers' reads (what fills a real log: every read of a record or plan by an outsider is
logged) with one partner change per ``--change-every`` reads, on the first ``--busy``
buildings.  Then it times what an administrator does: open the queue, open the busiest
building's first and last page of changes, mark a page reviewed one change at a time and
all at once, and open the queue again.  SQLite by default; ``--database-url
postgresql://postgres@127.0.0.1:5432/postgres`` (a server URL) makes a database of its own
on that server and drops it afterwards.  Figures, never pass/fail.  Goal: the queue and a
page of changes within 300 ms with a million events in the log.

    .venv/bin/python bench/reviews.py [--events 1000000] [--database-url URL]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(what: str, action: Callable[[], Any], runs: int = 3) -> Any:
    """The median of ``runs`` runs, printed; returns the last result."""
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - started)
    print(f"{what:<46} {statistics.median(seconds) * 1000:8.1f} ms  (median of {runs})", flush=True)
    return result


def fill(args: argparse.Namespace) -> tuple[int, int]:
    """The deployment's rows; returns the partner's and the administrator's ids."""
    from sqlalchemy import insert

    from floorplans.db import db, utcnow
    from floorplans.models import AuditEvent, Building, Organisation, Role, User

    organisation = Organisation(name="Congregation", faith_tradition="Muslim")
    buildings = [Building(organisation=organisation, name=f"Building {n}", street=f"{n} Main St", city="Toronto")
                 for n in range(args.buildings)]  # fmt: skip
    partner = User(email="partner@example.org", role=Role.PARTNER.value, organisation=organisation, password_hash="-")
    admin = User(email="admin@example.org", role=Role.ADMIN.value, password_hash="-")
    db.session.add_all([organisation, *buildings, partner, admin])
    db.session.commit()
    ids, busy, now, rows = [b.id for b in buildings], [b.id for b in buildings[: args.busy]], utcnow(), []
    random.seed(14)
    started = time.perf_counter()
    for n in range(args.events):
        rows.append({"at": now, "action": "access.view_record", "actor_id": 99, "actor_email": "officer@example.org",
                     "actor_role": "officer", "channel": "web", "building_id": random.choice(ids),
                     "target_type": "building", "target_id": 1, "detail": {}})  # fmt: skip
        if n % args.change_every == 0:
            building = random.choice(busy)
            rows.append({"at": now, "action": "building.update", "actor_id": partner.id, "actor_email": partner.email,
                         "actor_role": "partner", "channel": "web", "building_id": building, "target_type": "building",
                         "target_id": building, "detail": {"changes": {"capacity": [n, n + 1]}}})  # fmt: skip
        if len(rows) >= 20_000:
            db.session.execute(insert(AuditEvent), rows)
            rows = []
    if rows:
        db.session.execute(insert(AuditEvent), rows)
    db.session.commit()
    print(f"filled {args.events:,} reads and {args.events // args.change_every + 1:,} partner changes "
          f"in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    return partner.id, admin.id


def run(args: argparse.Namespace, database_url: str | None, folder: Path) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from floorplans import create_app
    from floorplans.db import db
    from floorplans.models import User
    from floorplans.services import reviews

    url = database_url or f"sqlite:///{folder / 'reviews.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        _partner_id, admin_id = fill(args)
        db.session.commit()
        # What a deployment's upkeep does: PostgreSQL's autovacuum (which lets it read the
        # partial index alone), SQLite's statistics.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE audit_events" if database_url else "ANALYZE"))
        admin = db.session.get(User, admin_id)
        with app.test_request_context():
            queue = timed("queue", reviews.queue)
            print(f"  {len(queue)} buildings waiting, the busiest with {max(e.changes for e in queue):,} changes")
            building = max(queue, key=lambda entry: entry.changes).building
            first = timed("a building's first page of changes (50)", lambda: reviews.pending_page(building))
            timed("its last page", lambda: reviews.pending_page(building, first.pages))
            one_by_one = reviews.pending_page(building)
            started = time.perf_counter()
            for event_id in one_by_one.shown[:10]:
                reviews.mark_reviewed(building, [event_id], by=admin)
                db.session.commit()
            print(f"{'mark one change reviewed':<46} {(time.perf_counter() - started) * 100:8.1f} ms  (mean of 10)")
            page = reviews.pending_page(building)
            started = time.perf_counter()
            reviews.mark_reviewed(building, page.shown, by=admin)
            db.session.commit()
            print(f"{f'mark a page ({len(page.shown)}) reviewed':<46} {(time.perf_counter() - started) * 1000:8.1f} ms")
            timed("queue after reviewing", reviews.queue)
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="officers' reads in the log")
    parser.add_argument("--change-every", type=int, default=20, help="one partner change per this many reads")
    parser.add_argument("--buildings", type=int, default=300)
    parser.add_argument("--busy", type=int, default=60, help="buildings whose partners make the changes")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()
    from own_run import on_own_database  # bench/own_run.py, beside this script

    on_own_database(args, run)


if __name__ == "__main__":
    main()
