"""Backups restore: a demo deployment goes into an archive and comes back into an empty one
with every record and every stored object identical, byte for byte."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from floorplans import create_app, objects
from floorplans.db import Base, db
from floorplans.models import Building, VersionState


def snapshot() -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, bytes]]:
    rows = {
        table.name: [tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))]
        for table in Base.metadata.sorted_tables
    }
    store = objects.get_storage()
    return rows, {key: store.get(key) for key in store.list("")}


@pytest.fixture
def empty_deployment(tmp_path: Path, sqlite_template: Path) -> dict[str, Any]:
    folder = tmp_path / "restored"
    folder.mkdir()
    shutil.copyfile(sqlite_template, folder / "db.sqlite3")
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "STORAGE_URL": str(folder / "storage"),
        "SECRET_KEY": "x",
    }


@pytest.mark.slow  # renders a plan in child processes
def test_backup_round_trip(fast_render, app, runner, tmp_path: Path, empty_deployment: dict[str, Any]) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    building = db.session.scalar(select(Building))
    assert building.published_version.state == VersionState.READY  # the demo plan is rendered
    before_rows, before_objects = snapshot()
    assert len(before_objects) > 50 and sum(map(len, before_rows.values())) > 15

    archive = tmp_path / "backup.tar.gz"
    result = runner.invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "tables/buildings.jsonl" in names
    assert not archive.with_name(archive.name + ".partial").exists()

    target = create_app(empty_deployment)
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        db.session.remove()
        after_rows, after_objects = snapshot()
        assert after_rows == before_rows
        assert after_objects == before_objects
        # The restored deployment works: new rows get fresh ids, the plan is published.
        restored = db.session.scalar(select(Building))
        assert restored.published_version.pages[0].label == "Ground floor"
        result = target.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code == 1 and "not empty" in result.output
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_damaged_or_foreign_archive(app, runner, tmp_path: Path) -> None:
    not_a_backup = tmp_path / "x.tar"
    with tarfile.open(not_a_backup, "w") as tar:
        tar.add(__file__, arcname="hello.py")
    result = runner.invoke(args=["restore", str(not_a_backup)])
    assert result.exit_code == 1 and "not a floorplans backup" in result.output

    objects.get_storage().put("originals/abc.pdf", b"%PDF-1.7 original")
    archive = tmp_path / "b.tar"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0
    tampered = tmp_path / "t.tar"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "objects/originals/abc.pdf":
                data = b"%PDF-1.7 tampered"
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    objects.get_storage().delete("originals/abc.pdf")
    result = runner.invoke(args=["restore", str(tampered)])
    assert result.exit_code == 1 and "does not match its checksum" in result.output


@pytest.fixture
def empty_postgresql(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A new, migrated, empty PostgreSQL database (when the suite has PostgreSQL)."""
    from tests.conftest import migrated_postgresql

    with migrated_postgresql("floorplans_restore", tmp_path / "pg-instance") as url:
        yield {
            "TESTING": True, "INSTANCE_PATH": str(tmp_path / "pg-restored"), "DATABASE_URL": url,
            "STORAGE_URL": str(tmp_path / "pg-storage"), "SECRET_KEY": "x",
        }


@pytest.mark.skipif(not os.environ.get("FLOORPLANS_TEST_DATABASE_URL"),
                    reason="restoring into PostgreSQL needs the suite's PostgreSQL (make test sets it)")
def test_restore_into_postgresql_continues_ids(app, runner, tmp_path: Path, empty_postgresql) -> None:
    from floorplans.services import accounts

    assert runner.invoke(args=["users", "create", "--email", "a@example.org", "--role", "officer"]).exit_code == 0
    archive = tmp_path / "b.tar"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0
    before_rows, _ = snapshot()

    target = create_app(empty_postgresql)
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        db.session.remove()
        assert snapshot()[0] == before_rows
        newcomer = accounts.create_user(email="b@example.org", role="officer", password="velvet harbour quarry lantern")
        db.session.commit()
        assert newcomer.id == max(row[0] for row in before_rows["users"]) + 1  # the sequence continues
        db.session.remove()
        db.engine.dispose()
