"""Backups copy objects a batch at a time (the store's get_many and put_many, concurrent),
report objects and bytes as they go, and restore only what the manifest vouches for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from floorplans import create_app, objects
from floorplans.db import db
from floorplans.services import backup
from storage import Storage
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
