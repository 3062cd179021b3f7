"""What only the local-folder backend can get wrong: symlinks, crashes, folders on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage import InvalidKey, LocalStorage, StorageError


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"not yours")
    return folder


def test_a_symlinked_folder_leading_outside_cannot_be_written_or_read_through(
    local_store: LocalStorage, outside: Path
) -> None:
    (local_store.root / "tiles").symlink_to(outside, target_is_directory=True)

    with pytest.raises(InvalidKey):
        local_store.put("tiles/new.png", b"x")
    with pytest.raises(InvalidKey):
        local_store.put("tiles/deeper/new.png", b"x")
    with pytest.raises(InvalidKey):
        local_store.get("tiles/secret.txt")
    with pytest.raises(InvalidKey):
        local_store.delete("tiles/secret.txt")
    assert list(local_store.list()) == []
    assert list(local_store.list("tiles/")) == []
    assert local_store.delete_prefix("tiles/") == 0
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"not yours"


def test_a_symlinked_file_leading_outside_cannot_be_written_or_read_through(
    local_store: LocalStorage, outside: Path
) -> None:
    (local_store.root / "manifest.json").symlink_to(outside / "secret.txt")

    with pytest.raises(InvalidKey):
        local_store.get("manifest.json")
    with pytest.raises(InvalidKey):
        local_store.put("manifest.json", b"overwritten")
    with pytest.raises(InvalidKey):
        local_store.exists("manifest.json")
    assert (outside / "secret.txt").read_bytes() == b"not yours"


def test_a_symlink_inside_the_root_is_followed(local_store: LocalStorage) -> None:
    local_store.put("tiles/1/a.png", b"a")
    (local_store.root / "current").symlink_to(local_store.root / "tiles" / "1")
    assert local_store.get("current/a.png") == b"a"
    # Only what the store wrote is listed, once.
    assert list(local_store.list()) == ["tiles/1/a.png"]


def _boom(*args: object, **kwargs: object) -> None:
    raise OSError(28, "No space left on device")


def test_a_failed_rename_leaves_no_partial_object(
    local_store: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_store.put("tiles/1/manifest.json", b"old")
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", _boom)
        with pytest.raises(StorageError, match="No space left"):
            local_store.put("tiles/1/manifest.json", b"new")
        with pytest.raises(StorageError):
            local_store.put("tiles/2/manifest.json", b"new")
    assert local_store.get("tiles/1/manifest.json") == b"old"
    assert not local_store.exists("tiles/2/manifest.json")
    assert list(local_store.list()) == ["tiles/1/manifest.json"]
    leftovers = [p for p in local_store.root.rglob("*") if p.is_file()]
    assert leftovers == [local_store.root / "tiles" / "1" / "manifest.json"]


def test_a_crash_between_write_and_rename_leaves_nothing_visible(
    local_store: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A killed process neither renames nor cleans up: the temporary file stays.
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", _boom)
        patch.setattr(os, "unlink", lambda *args, **kwargs: None)
        with pytest.raises(StorageError):
            local_store.put("tiles/3/0/0/0.png", b"half a tile")
    on_disk = [p for p in local_store.root.rglob("*") if p.is_file()]
    assert len(on_disk) == 1
    assert on_disk[0].read_bytes() == b"half a tile"
    assert list(local_store.list()) == []
    assert not local_store.exists("tiles/3/0/0/0.png")
    with pytest.raises(FileNotFoundError):
        local_store.get("tiles/3/0/0/0.png")
    # And the next write of the same key is not disturbed by it.
    local_store.put("tiles/3/0/0/0.png", b"tile")
    assert list(local_store.list()) == ["tiles/3/0/0/0.png"]


def test_an_object_and_a_folder_of_the_same_name_is_a_storage_error(
    local_store: LocalStorage,
) -> None:
    local_store.put("tiles/1", b"object")
    with pytest.raises(StorageError, match="part of its path is an object"):
        local_store.put("tiles/1/a.png", b"x")
    local_store.put("plans/2/a.png", b"x")
    with pytest.raises(StorageError, match="folder of that name"):
        local_store.put("plans/2", b"object")
    assert list(local_store.list()) == ["plans/2/a.png", "tiles/1"]


def test_deletes_remove_the_folders_they_empty(local_store: LocalStorage) -> None:
    local_store.put_many(
        [
            ("tiles/1/0/0/0.png", b"a", None),
            ("tiles/1/1/0/0.png", b"b", None),
            ("tiles/2/0/0/0.png", b"c", None),
        ]
    )
    assert local_store.delete_prefix("tiles/1/") == 2
    assert not (local_store.root / "tiles" / "1").exists()
    local_store.delete("tiles/2/0/0/0.png")
    assert not (local_store.root / "tiles").exists()
    assert local_store.root.is_dir()
    local_store.check()


def test_check_fails_when_the_folder_is_gone(local_store: LocalStorage) -> None:
    local_store.root.rmdir()
    with pytest.raises(StorageError, match="not writable"):
        local_store.check()


def test_the_root_is_created(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "a" / "b")
    assert store.root == (tmp_path / "a" / "b").resolve()
    assert store.root.is_dir()


def test_a_root_that_is_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StorageError):
        LocalStorage(tmp_path / "file" / "objects")


def test_folders_leaves_out_folders_a_crash_left_empty_and_symlinks(local_store: LocalStorage, outside: Path) -> None:
    local_store.put("tiles/v1/0.png", b"x")
    (local_store.root / "tiles" / "v2" / "0").mkdir(parents=True)  # made, then the writer died
    (local_store.root / "tiles" / "v3").symlink_to(outside, target_is_directory=True)
    assert list(local_store.folders("tiles/")) == ["v1"]
