"""Backups copy objects a batch at a time (the store's get_many and put_many, concurrent),
report objects and bytes as they go, and restore only what the manifest vouches for."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from floorplans import create_app, objects
from floorplans.db import db
from floorplans.services import backup
from storage import Storage, StorageError
from tests.floorplans.test_backup import empty_deployment, snapshot

__all__ = ["empty_deployment"]

OBJECTS = {f"tiles/v1/1/0/0/{n}.webp": bytes([n]) * (n + 1) for n in range(7)} | {
    "originals/abc.pdf": b"%PDF-1.7 original",
}


def spy(store: Storage, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    calls: dict[str, list[list[str]]] = {"get_many": [], "put_many": []}
    get_many, put_many = store.get_many, store.put_many

    def spied_get(keys: Any, **kwargs: Any) -> Any:
        keys = list(keys)
        calls["get_many"].append(keys)
        return get_many(keys, **kwargs)

    def spied_put(items: Any, **kwargs: Any) -> Any:
        items = list(items)
        calls["put_many"].append([key for key, _, _ in items])
        return put_many(items, **kwargs)

    monkeypatch.setattr(store, "get_many", spied_get)
    monkeypatch.setattr(store, "put_many", spied_put)
    return calls


@pytest.mark.slow  # a second deployment (app) to restore into
def test_objects_go_a_batch_at_a_time(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      empty_deployment: dict[str, Any]) -> None:
    monkeypatch.setattr(backup, "BATCH", 3)
    store = objects.get_storage()
    store.put_many((key, data, None) for key, data in OBJECTS.items())
    calls = spy(store, monkeypatch)
    seen: list[tuple[str, int, int, int, int | None]] = []

    def progress(what: str, done: int, total: int, *, done_bytes: int = 0, total_bytes: int | None = None) -> None:
        seen.append((what, done, total, done_bytes, total_bytes))

    archive = tmp_path / "b.tar"
    report = backup.write_backup(archive, progress=progress)
    assert report.objects == 8 and report.object_bytes == sum(map(len, OBJECTS.values()))
    assert [len(batch) for batch in calls["get_many"]] == [3, 3, 2]
    assert [entry for entry in seen if entry[0] == "objects"][-1] == ("objects", 8, 8, report.object_bytes, None)

    target = create_app(empty_deployment)
    with target.app_context():
        target_calls = spy(objects.get_storage(), monkeypatch)
        seen.clear()
        restored = backup.restore_backup(archive, progress=progress)
        db.session.commit()
        assert restored.objects == 8
        assert [len(batch) for batch in target_calls["put_many"]] == [3, 3, 2]
        objects_seen = [entry for entry in seen if entry[0] == "objects"]
        assert objects_seen[0] == ("objects", 3, 8, sum(len(OBJECTS[k]) for k in target_calls["put_many"][0]),
                                   report.object_bytes)
        assert objects_seen[-1] == ("objects", 8, 8, report.object_bytes, report.object_bytes)
        db.session.remove()
        assert snapshot()[1] == OBJECTS
        db.engine.dispose()


def interrupt_after(store: Storage, method: str, calls: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``store.<method>`` fail (as a lost connection would) after ``calls`` calls."""
    original = getattr(store, method)
    count = 0

    def failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        if count > calls:
            raise StorageError("connection lost")
        return original(*args, **kwargs)

    monkeypatch.setattr(store, method, failing)


def test_an_interrupted_backup_continues(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup, "BATCH", 3)
    store = objects.get_storage()
    store.put_many((key, data, None) for key, data in OBJECTS.items())
    archive = tmp_path / "b.tar.gz"
    with monkeypatch.context() as interrupted:
        interrupt_after(store, "get_many", 2, interrupted)
        with pytest.raises(StorageError):
            backup.write_backup(archive)
    work = backup.work_folder_of(archive)
    assert not archive.exists() and work.is_dir()
    # As if killed while writing a third batch: part of it in the tar, half a line in the log.
    with open(work / "objects.tar", "ab") as tar_file, open(work / "done.jsonl", "a") as log:
        tar_file.write(b"\0" * 700 + b"half an object")
        log.write('{"offset": 99')

    calls = spy(store, monkeypatch)
    report = backup.write_backup(archive)
    assert report.resumed_objects == 6 and report.objects == 8
    assert calls["get_many"] == [sorted(OBJECTS)[6:]]  # only what the first run had not copied
    assert not backup.work_folder_of(archive).exists()
    with tarfile.open(archive) as tar:
        copied = {m.name.removeprefix("objects/"): tar.extractfile(m).read()
                  for m in tar.getmembers() if m.name.startswith("objects/")}
        assert tar.getnames()[0] == "manifest.json"
    assert copied == OBJECTS


def test_a_backup_does_not_continue_with_other_options(app, tmp_path: Path, monkeypatch) -> None:
    objects.get_storage().put("originals/abc.pdf", b"%PDF-1.7")
    archive = tmp_path / "b.tar"
    with monkeypatch.context() as interrupted:
        interrupt_after(objects.get_storage(), "get_many", 0, interrupted)
        with pytest.raises(StorageError):
            backup.write_backup(archive, skip_tiles=True)
    with pytest.raises(backup.BackupError, match="other options"):
        backup.write_backup(archive)


@pytest.mark.slow  # a second deployment (app) to restore into
def test_an_interrupted_restore_finishes(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         empty_deployment: dict[str, Any]) -> None:
    monkeypatch.setattr(backup, "BATCH", 3)
    objects.get_storage().put_many((key, data, None) for key, data in OBJECTS.items())
    archive = tmp_path / "b.tar"
    backup.write_backup(archive)
    before_rows = snapshot()[0]

    target = create_app(empty_deployment)
    with target.app_context():
        store = objects.get_storage()
        with monkeypatch.context() as interrupted:
            interrupt_after(store, "put_many", 1, interrupted)
            with pytest.raises(StorageError):
                backup.restore_backup(archive)
            db.session.rollback()  # as the command does: nothing of the records is kept
        assert len(list(store.list(""))) == 3
        store.put(sorted(OBJECTS)[0], b"cut short")  # an object the interruption left damaged
        calls = spy(store, monkeypatch)
        report = backup.restore_backup(archive)
        db.session.commit()
        assert report.resumed_objects == 2 and report.objects == 8
        assert calls["put_many"] == [sorted(OBJECTS)[:1] + sorted(OBJECTS)[3:5], sorted(OBJECTS)[5:]]
        db.session.remove()
        rows, restored = snapshot()
        assert rows == before_rows and restored == OBJECTS
        store.put("originals/other.pdf", b"%PDF")
        with pytest.raises(backup.BackupError, match="not empty"):
            backup.restore_backup(archive)
        db.session.remove()
        db.engine.dispose()


def damaged_copy(archive: Path, out: Path, name: str) -> None:
    with tarfile.open(archive) as source, tarfile.open(out, "w") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == name:
                data = data[:-1] + b"!"
            copy.addfile(member, io.BytesIO(data))


@pytest.mark.slow  # a second deployment (app) to restore into
def test_a_damaged_member_fails_the_restore_by_name(app, runner, tmp_path: Path,
                                                    empty_deployment: dict[str, Any]) -> None:
    objects.get_storage().put_many((key, data, None) for key, data in OBJECTS.items())
    archive, damaged = tmp_path / "b.tar", tmp_path / "damaged.tar"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0
    damaged_copy(archive, damaged, "objects/tiles/v1/1/0/0/5.webp")

    target = create_app(empty_deployment)
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(damaged)])
        assert result.exit_code == 1
        assert "object tiles/v1/1/0/0/5.webp does not match its checksum" in result.output
        assert "Restored" not in result.output
        db.session.remove()
        rows, _ = snapshot()
        assert not any(rows.values())  # no record kept
        db.session.remove()
        db.engine.dispose()


@pytest.mark.slow  # a second deployment (app) to restore into
def test_each_object_is_read_back_after_it_is_written(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       empty_deployment: dict[str, Any]) -> None:
    objects.get_storage().put_many((key, data, None) for key, data in OBJECTS.items())
    archive = tmp_path / "b.tar"
    backup.write_backup(archive)

    target = create_app(empty_deployment)
    with target.app_context():
        store = objects.get_storage()
        put_one = store._put_one

        def lossy(key: str, source: Any, content_type: Any) -> None:  # a store that mangles one object
            put_one(key, b"mangled" if key == "originals/abc.pdf" else source, content_type)

        monkeypatch.setattr(store, "_put_one", lossy)
        with pytest.raises(backup.BackupError, match=r"object originals/abc\.pdf as stored does not match"):
            backup.restore_backup(archive)
        db.session.rollback()
        backup.restore_backup(archive, verify=False)  # the operator's choice: not read back
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_the_backup_command_says_how_to_continue(app, runner, tmp_path: Path, monkeypatch) -> None:
    objects.get_storage().put("originals/abc.pdf", b"%PDF-1.7")
    archive = tmp_path / "b.tar"
    with monkeypatch.context() as interrupted:
        interrupt_after(objects.get_storage(), "get_many", 0, interrupted)
        result = runner.invoke(args=["backup", str(archive)])
    assert result.exit_code == 1
    assert f"kept in {backup.work_folder_of(archive)}: run the same command again" in result.output
    result = runner.invoke(args=["backup", str(archive)])
    assert result.exit_code == 0 and "Backup written" in result.output, result.output


def test_a_deployment_without_objects_backs_up(app, tmp_path: Path) -> None:
    assert next(iter(objects.get_storage().list("")), None) is None
    report = backup.write_backup(tmp_path / "b.tar")
    assert report.objects == 0
    with tarfile.open(tmp_path / "b.tar") as tar:
        assert "manifest.json" in tar.getnames()
