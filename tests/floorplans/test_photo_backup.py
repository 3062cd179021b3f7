"""Photos are in the backup and come back: their rows and every stored size, byte for byte,
and the restored deployment serves them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from floorplans import create_app, objects
from floorplans.db import db
from floorplans.models import Photo, Role
from floorplans.services import photos
from tests.converters import photo_samples as samples
from tests.floorplans.test_backup import empty_deployment  # noqa: F401 - the fixture, shared
from tests.floorplans.test_markers import place, ready_version

pytestmark = pytest.mark.slow


def test_photos_survive_a_backup_and_restore(app, runner, make_user, make_building, tmp_path: Path,
                                              empty_deployment: dict[str, Any]) -> None:  # noqa: F811
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    version = ready_version(building, "Ground floor", publish=True)
    marker = place(version.pages[0], partner, kind="key_box", x=0.2, y=0.8)
    photos.add(partner, building, io.BytesIO(samples.phone_jpeg()), subject="front", caption="From the street")
    photos.add(partner, building, io.BytesIO(samples.phone_heic()), subject="marker", marker=marker)
    db.session.commit()
    store = objects.get_storage()
    before = {key: store.get(key) for key in store.list(objects.building_photos_prefix(building.id))}
    assert len(before) == 2 * len(photos.SIZES)
    rows = [(p.id, p.subject, p.marker_id, p.caption, p.token, p.sizes) for p in db.session.scalars(select(Photo))]

    archive = tmp_path / "backup.tar"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0

    target = create_app(empty_deployment)
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        db.session.remove()
        restored = objects.get_storage()
        assert {key: restored.get(key) for key in restored.list("buildings/")} == before
        assert [(p.id, p.subject, p.marker_id, p.caption, p.token, p.sizes)
                for p in db.session.scalars(select(Photo))] == rows
        front = db.session.scalar(select(Photo).where(Photo.subject == "front"))
        large = objects.photo_key(building.id, front.token, photos.LARGE)
        assert photos.read_size(front, photos.LARGE) == before[large]
        db.session.remove()
        db.engine.dispose()
