"""A backup without tiles (``--skip-tiles``) keeps every record and every kept original; after
a restore, ``flask plans rerender`` renders the tiles again from the originals."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from floorplans import create_app
from floorplans.db import db
from floorplans.models import Building
from floorplans.services.backup import is_tile
from tests.floorplans.test_backup import empty_deployment, snapshot

__all__ = ["empty_deployment"]


def test_what_counts_as_a_tile() -> None:
    assert is_tile("tiles/abc/1/0/0/0.webp") and is_tile("tiles/abc/1/manifest.json")
    assert is_tile("tiles/abc/2/overview.webp")
    assert not is_tile("tiles/abc/labels.json")
    assert not is_tile("originals/abc.pdf") and not is_tile("buildings/1/photos/t/640.webp")


@pytest.mark.slow  # renders the demo plan, then renders it again, in child processes
def test_skip_tiles_then_rerender_round_trips(fast_render, app, runner, tmp_path: Path,
                                              empty_deployment: dict[str, Any]) -> None:
    assert runner.invoke(args=["demo"]).exit_code == 0
    before_rows, before_objects = snapshot()
    tiles = {key for key in before_objects if is_tile(key)}
    assert len(tiles) > 20

    archive = tmp_path / "b.tar.gz"
    result = runner.invoke(args=["backup", "--skip-tiles", str(archive)])
    assert result.exit_code == 0, result.output
    assert f"Tiles skipped: {len(tiles)} tile objects" in result.output
    with tarfile.open(archive) as tar:
        names = {name.removeprefix("objects/") for name in tar.getnames() if name.startswith("objects/")}
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert names == set(before_objects) - tiles  # originals, labels, photos: all but the tiles
    assert any(name.startswith("originals/") for name in names)
    assert manifest["tiles_skipped"] is True and "plans rerender" in manifest["after_restore"]

    # Rendered again with the same settings (the pixel budget decides the pyramids).
    target = create_app(empty_deployment | {"PAGE_MAX_PIXELS": fast_render["PAGE_MAX_PIXELS"],
                                            "RENDER_WORKERS": fast_render["RENDER_WORKERS"]})
    with target.app_context():
        cli = target.test_cli_runner()
        result = cli.invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        assert "flask plans rerender --all" in result.output
        db.session.remove()
        rows, restored = snapshot()
        assert rows == before_rows
        assert restored == {key: data for key, data in before_objects.items() if key not in tiles}

        result = cli.invoke(args=["plans", "rerender", "--all"])
        assert result.exit_code == 0, result.output
        assert "[1 of 1] " in result.output and "Rendered 1 version(s) again" in result.output
        db.session.remove()
        rows, after = snapshot()
        assert rows == before_rows  # records untouched by the rerender
        assert set(after) == set(before_objects)  # every tile is back
        assert sum(after[key] == before_objects[key] for key in tiles) > len(tiles) // 2
        assert {key: after[key] for key in after if not is_tile(key)} == restored  # originals byte for byte
        assert db.session.scalar(select(Building)).shown_plan is not None
        # Run again: nothing to do.
        result = cli.invoke(args=["plans", "rerender"])
        assert result.exit_code == 0 and "1 had their tiles already" in result.output, result.output
        db.session.remove()
        db.engine.dispose()
