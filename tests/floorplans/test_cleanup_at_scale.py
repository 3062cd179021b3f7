"""`plans cleanup` at a province's size: its statements do not grow with the versions, and it
asks the store for the version folders, never for every tile."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import event, insert, select, update

from floorplans import objects
from floorplans.db import db
from floorplans.models import Building, PlanVersion
from floorplans.services.cleanup import cleanup_plans
from storage import LocalStorage

NOW = dt.datetime(2026, 12, 1)


def add_buildings(organisation_id: int, count: int, start: int) -> list[PlanVersion]:
    """``count`` buildings, each with a published version and an older one superseded a
    month ago; returns the older ones."""
    db.session.execute(insert(Building), [{"organisation_id": organisation_id, "name": f"Church {n}"}
                                          for n in range(start, start + count)])
    ids = db.session.scalars(select(Building.id).order_by(Building.id.desc()).limit(count)).all()
    month_ago = NOW - dt.timedelta(days=30)
    for number in (1, 2):
        db.session.execute(insert(PlanVersion), [
            {"building_id": b, "number": number, "key": f"v{b:08d}n{number}", "state": "ready",
             "original_sha256": "0" * 64, "original_filename": "plan.pdf", "original_bytes": 1, "page_count": 1,
             "created_at": month_ago, "finished_at": month_ago, "published_at": month_ago} for b in ids])
    for b in ids:
        newest = db.session.scalar(select(PlanVersion.id).where(PlanVersion.building_id == b, PlanVersion.number == 2))
        db.session.execute(update(Building).where(Building.id == b).values(published_version_id=newest))
    db.session.commit()
    return list(db.session.scalars(select(PlanVersion).where(PlanVersion.building_id.in_(ids),
                                                               PlanVersion.number == 1)))


class CountingStore(LocalStorage):
    """The local folder, counting what cleanup asks of it."""

    listed: list[str]

    def list(self, prefix: str = "") -> Iterator[str]:
        self.listed.append(prefix)
        return super().list(prefix)


def statements_of_a_cleanup(grace: dt.timedelta) -> int:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        cleanup_plans(grace=grace, now=NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_cleanup_statements_do_not_grow_with_the_versions(app, make_organisation) -> None:
    organisation = make_organisation()
    add_buildings(organisation.id, 5, 0)
    small = statements_of_a_cleanup(dt.timedelta(days=60))  # all within the grace period: none removed
    add_buildings(organisation.id, 40, 5)
    assert statements_of_a_cleanup(dt.timedelta(days=60)) == small


def test_cleanup_lists_the_version_folders_not_every_tile(app, make_organisation, tmp_path) -> None:
    store = CountingStore(tmp_path / "store")
    store.listed = []
    app.extensions["floorplans.storage"] = store
    organisation = make_organisation()
    superseded = add_buildings(organisation.id, 3, 0)
    published = db.session.scalars(select(PlanVersion.key).where(PlanVersion.number == 2)).all()
    for key in [v.key for v in superseded] + list(published) + ["orphan1"]:
        store.put_many([(objects.tile_key(key, 1, z, 0, 0), b"t", None) for z in range(3)])
    report = cleanup_plans(grace=dt.timedelta(days=7), now=NOW)
    assert sorted(report.versions) == sorted(v.id for v in superseded)
    assert report.orphans == ["orphan1"] and report.objects_deleted == 3 * 4
    # Each folder deleted is listed (to delete it); the tiles' folder as a whole never is.
    assert objects.TILES_PREFIX not in store.listed
    assert sorted(store.listed) == sorted(objects.version_prefix(k) for k in [v.key for v in superseded] + ["orphan1"])
    assert sorted(store.folders(objects.TILES_PREFIX)) == sorted(published)
