"""The showable-version rule in one place: ``PlanVersion.has_tiles`` and ``shown_to_officers``
read the same on a loaded version and in a query (hybrids), and a building's plan for
officers is ``Building.shown_plan``."""
from __future__ import annotations

import itertools

from sqlalchemy import select

from floorplans.db import db, utcnow
from floorplans.models import PlanPage, PlanVersion, Role, VersionState
from floorplans.services import plan_tiles


def test_the_rule_reads_the_same_in_python_and_in_sql(make_building) -> None:
    building = make_building()
    versions = []
    cases = itertools.product(list(VersionState), (False, True), (False, True))
    for number, (state, published, cleaned) in enumerate(cases, start=1):
        versions.append(PlanVersion(
            building=building, number=number, state=state.value, original_sha256="0" * 64, original_bytes=1,
            page_count=1, pages=[PlanPage(number=1, position=1, label="Ground")],
            published_at=utcnow() if published else None, tiles_deleted_at=utcnow() if cleaned else None))
    db.session.add_all(versions)
    db.session.commit()

    with_tiles = set(db.session.scalars(select(PlanVersion.id).where(PlanVersion.has_tiles)))
    shown = set(db.session.scalars(select(PlanVersion.id).where(PlanVersion.shown_to_officers)))
    assert with_tiles == {v.id for v in versions if v.has_tiles}
    assert shown == {v.id for v in versions if v.shown_to_officers}
    # Ready and not cleaned up; shown when also published: 2 and 1 of the 16 cases.
    assert {(v.state, v.published_at is not None) for v in versions if v.id in with_tiles} == {
        ("ready", False), ("ready", True)}
    assert [(v.state, v.published_at is not None, v.tiles_deleted_at) for v in versions if v.id in shown] == [
        ("ready", True, None)]


def test_a_buildings_plan_for_officers_and_who_reads_a_version(make_building, make_user) -> None:
    building = make_building()
    version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=1, pages=[PlanPage(number=1, position=1, label="Ground")])
    db.session.add(version)
    building.published_version = version
    db.session.commit()
    officer, partner = make_user(Role.OFFICER), make_user(Role.PARTNER, building.organisation)
    assert building.shown_plan is None  # pointed at, never published: a draft
    assert plan_tiles.may_read_version(partner, version) and not plan_tiles.may_read_version(officer, version)
    version.published_at = utcnow()
    db.session.commit()
    assert building.shown_plan is version and plan_tiles.may_read_version(officer, version)
    version.tiles_deleted_at = utcnow()
    db.session.commit()
    assert building.shown_plan is None
    assert not plan_tiles.may_read_version(officer, version) and not plan_tiles.may_read_version(partner, version)
