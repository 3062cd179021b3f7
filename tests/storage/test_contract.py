"""The Storage contract, run against every backend: a local folder and moto's S3 server."""

from __future__ import annotations

import os
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import InvalidKey, LocalStorage, S3Storage, Storage, StorageError


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> Storage:
    return request.getfixturevalue(f"{request.param}_store")


BINARY = bytes(range(256)) * 4 + b"\x00\r\n\x1a\xff"


# -- put / get -----------------------------------------------------------------


def test_put_then_get_returns_the_same_bytes(store: Storage) -> None:
    store.put("plans/a.bin", BINARY)
    assert store.get("plans/a.bin") == BINARY


def test_empty_object(store: Storage) -> None:
    store.put("empty", b"")
    assert store.get("empty") == b""
    assert store.exists("empty")


def test_five_megabyte_object(store: Storage) -> None:
    data = os.urandom(5 * 1024 * 1024)
    store.put("big/original.pdf", data, content_type="application/pdf")
    assert store.get("big/original.pdf") == data


def test_put_file_streams_a_large_file(store: Storage, tmp_path: Path) -> None:
    # Over boto3's 8 MiB threshold, so S3 takes the multipart path.
    data = os.urandom(9 * 1024 * 1024)
    source = tmp_path / "upload.pdf"
    source.write_bytes(data)
    store.put_file("originals/abc.pdf", source, content_type="application/pdf")
    store.put_file("originals/by-str.pdf", str(source))
    assert store.get("originals/abc.pdf") == data
    assert store.get("originals/by-str.pdf") == data


def test_put_file_with_a_missing_source_writes_nothing(store: Storage, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.put_file("originals/x.pdf", tmp_path / "absent.pdf")
    assert list(store.list()) == []


def test_put_overwrites(store: Storage) -> None:
    store.put("tiles/1/manifest.json", b"first, and longer than the second")
    store.put("tiles/1/manifest.json", b"second")
    assert store.get("tiles/1/manifest.json") == b"second"
    assert list(store.list()) == ["tiles/1/manifest.json"]


def test_get_missing_raises_file_not_found(store: Storage) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        store.get("tiles/9/manifest.json")
    assert caught.value.filename == "tiles/9/manifest.json"


def test_a_folder_is_not_an_object(store: Storage) -> None:
    store.put("tiles/1/0/0/0.png", b"png")
    assert not store.exists("tiles")
    assert not store.exists("tiles/1")
    with pytest.raises(FileNotFoundError):
        store.get("tiles/1")


def test_exists(store: Storage) -> None:
    assert not store.exists("a/b.txt")
    store.put("a/b.txt", b"x")
    assert store.exists("a/b.txt")
    assert not store.exists("a/b.tx")


# -- list ----------------------------------------------------------------------

KEYS = [
    "a-b",
    "a/b",
    "a0",
    "originals/abc.pdf",
    "tiles/1-old/x.png",
    "tiles/1.json",
    "tiles/1/0/0/0.png",
    "tiles/1/manifest.json",
    "tiles/10/0/0/0.png",
]


@pytest.fixture
def filled(store: Storage) -> Storage:
    for key in reversed(KEYS):
        store.put(key, key.encode())
    return store


def test_list_everything_in_sorted_order(filled: Storage) -> None:
    # '-' < '/' < '0': a per-folder sort would put "a/b" after "a0" or before "a-b".
    assert list(filled.list()) == sorted(KEYS)
    assert list(filled.list("")) == sorted(KEYS)


def test_list_prefix_is_a_plain_string_prefix(filled: Storage) -> None:
    # Chosen semantics (S3's): no implied trailing slash; "tiles/1" also
    # selects tiles/10/, tiles/1.json and tiles/1-old/.
    assert list(filled.list("tiles/1")) == [
        "tiles/1-old/x.png",
        "tiles/1.json",
        "tiles/1/0/0/0.png",
        "tiles/1/manifest.json",
        "tiles/10/0/0/0.png",
    ]
    assert list(filled.list("a")) == ["a-b", "a/b", "a0"]


def test_list_folder_prefix(filled: Storage) -> None:
    assert list(filled.list("tiles/1/")) == ["tiles/1/0/0/0.png", "tiles/1/manifest.json"]
    assert list(filled.list("tiles/1/man")) == ["tiles/1/manifest.json"]
    assert list(filled.list("tiles/1/manifest.json")) == ["tiles/1/manifest.json"]
    assert list(filled.list("tiles/2/")) == []
    assert list(filled.list("nothing")) == []


def test_list_returns_an_iterator(filled: Storage) -> None:
    listing = filled.list("tiles/")
    assert iter(listing) is listing


def test_folders_are_the_names_directly_under_a_folder(filled: Storage) -> None:
    # Python's order ("1" < "1-old" < "10"), not S3's bytes ("1-old/" < "1/").
    assert list(filled.folders("tiles/")) == ["1", "1-old", "10"]
    assert list(filled.folders("tiles/1/")) == ["0"]
    assert list(filled.folders("tiles/1/0/0/")) == []  # only objects there
    assert list(filled.folders("nothing/")) == []
    assert list(filled.folders("a/")) == []


def test_a_folder_emptied_is_not_listed(filled: Storage) -> None:
    filled.delete("tiles/10/0/0/0.png")
    filled.delete_prefix("tiles/1-old/")
    assert list(filled.folders("tiles/")) == ["1"]


def test_the_default_folders_reads_the_keys_alike(filled: Storage) -> None:
    """The base class's folders (for a backend without a folder listing) agrees."""
    for folder in ("tiles/", "tiles/1/", "a/", "nothing/"):
        assert list(Storage.folders(filled, folder)) == list(filled.folders(folder))


@pytest.mark.parametrize("prefix", ["", "tiles", "../", "/tiles/", "tiles//"])
def test_folders_refuses_a_prefix_that_is_not_a_folder(filled: Storage, prefix: str) -> None:
    with pytest.raises(InvalidKey):
        filled.folders(prefix)


# -- delete --------------------------------------------------------------------


def test_delete(filled: Storage) -> None:
    filled.delete("tiles/1.json")
    assert not filled.exists("tiles/1.json")
    with pytest.raises(FileNotFoundError):
        filled.get("tiles/1.json")
    assert list(filled.list()) == sorted(set(KEYS) - {"tiles/1.json"})


def test_delete_missing_is_not_an_error(store: Storage) -> None:
    store.delete("never/stored")
    store.delete("never/stored")


def test_delete_prefix_counts_and_leaves_siblings_alone(filled: Storage) -> None:
    assert filled.delete_prefix("tiles/1/") == 2
    assert list(filled.list()) == sorted(
        set(KEYS) - {"tiles/1/0/0/0.png", "tiles/1/manifest.json"}
    )
    assert filled.delete_prefix("tiles/1/") == 0
    assert filled.delete_prefix("tiles/") == 3
    assert list(filled.list("tiles")) == []
    assert next(filled.list("a")) == "a-b"


@pytest.mark.parametrize("prefix", ["", "tiles/1", "tiles", "../", "/tiles/", "tiles//"])
def test_delete_prefix_refuses_a_prefix_that_is_not_a_folder(
    filled: Storage, prefix: str
) -> None:
    # "tiles/1" would take tiles/10 with it, "" the whole store.
    with pytest.raises(InvalidKey):
        filled.delete_prefix(prefix)
    assert list(filled.list()) == sorted(KEYS)


@pytest.mark.slow  # a thousand objects through the S3 server
def test_delete_prefix_over_a_thousand_objects(store: Storage) -> None:
    # More than one DeleteObjects batch (1000 keys) on S3.
    count = 1001
    items = [(f"tiles/7/0/{i // 100}/{i % 100}.png", b"t", None) for i in range(count)]
    assert store.put_many(items) == count
    store.put("tiles/70/keep.png", b"k")
    assert store.delete_prefix("tiles/7/") == count
    assert list(store.list()) == ["tiles/70/keep.png"]


# -- put_many ------------------------------------------------------------------


@pytest.mark.slow  # hundreds of objects through the S3 server
def test_put_many_stores_everything_and_reports_progress(store: Storage, tmp_path: Path) -> None:
    source = tmp_path / "from-disk.png"
    source.write_bytes(b"from disk")
    items: list[tuple[str, bytes | os.PathLike[str], str | None]] = [
        (f"tiles/3/0/{i // 50}/{i % 50}.webp", f"tile {i}".encode(), "image/webp")
        for i in range(499)
    ]
    items.append(("tiles/3/from-disk.png", source, None))
    progress: list[int] = []
    threads: set[int] = set()

    def on_progress(done: int) -> None:
        progress.append(done)
        threads.add(threading.get_ident())

    def lazily() -> Iterator[tuple[str, bytes | os.PathLike[str], str | None]]:
        yield from items

    assert store.put_many(lazily(), on_progress=on_progress) == 500
    assert progress[-1] == 500
    assert progress == sorted(set(progress))
    assert threads == {threading.get_ident()}
    assert len(list(store.list("tiles/3/"))) == 500
    assert store.get("tiles/3/0/9/48.webp") == b"tile 498"
    assert store.get("tiles/3/from-disk.png") == b"from disk"


def test_put_many_of_nothing(store: Storage) -> None:
    calls: list[int] = []
    assert store.put_many([], on_progress=calls.append) == 0
    assert calls == []


def test_put_many_with_an_invalid_key_raises_invalid_key(store: Storage) -> None:
    with pytest.raises(InvalidKey):
        store.put_many([("../escape", b"x", None)])
    assert list(store.list()) == []


def test_put_many_lets_the_callers_own_error_through(store: Storage) -> None:
    def broken_render() -> Iterator[tuple[str, bytes, str | None]]:
        yield "tiles/4/a.png", b"a", None
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError, match="renderer died"):
        store.put_many(broken_render())


def test_get_many_reads_everything_at_once_and_missing_is_none(store: Storage) -> None:
    store.put_many((f"tiles/3/{i}.webp", f"tile {i}".encode(), None) for i in range(60))
    wanted = [f"tiles/3/{i}.webp" for i in range(60)] + ["tiles/3/absent.webp", "tiles/3/0.webp"]
    seen_threads: set[str] = set()
    real_get = store.get

    def counting_get(key: str) -> bytes:
        seen_threads.add(threading.current_thread().name)
        return real_get(key)

    store.get = counting_get  # type: ignore[method-assign]
    found = store.get_many(wanted)
    assert found == {**{f"tiles/3/{i}.webp": f"tile {i}".encode() for i in range(60)}, "tiles/3/absent.webp": None}
    # Concurrent for real (the backend's pool), and one thread when asked for one.
    assert len(seen_threads) > 1 and all(name.startswith("storage-get") for name in seen_threads)
    seen_threads.clear()
    assert store.get_many(wanted[:5], workers=1) == {key: found[key] for key in wanted[:5]}
    assert seen_threads == {threading.current_thread().name}
    assert store.get_many([]) == {}


def test_get_many_refuses_an_invalid_key_before_reading(store: Storage) -> None:
    store.put("a.webp", b"a")
    with pytest.raises(InvalidKey):
        store.get_many(["a.webp", "../escape"])


# -- invalid keys --------------------------------------------------------------

INVALID_KEYS = [
    "../x",
    "a/../../x",
    "/abs",
    "a//b",
    "a/./b",
    ".",
    "..",
    "a/",
    "a\\b",
    "",
    "a\x00b",
    "a b",
    "tiles/1/0/0/0.png\n",
    "caf\u00e9",
    "x" * 513,
]


@pytest.mark.parametrize("key", INVALID_KEYS, ids=repr)
def test_invalid_keys_are_refused_and_nothing_is_written(
    store: Storage, key: str, tmp_path: Path
) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"data")
    attempts = [
        lambda: store.put(key, b"data"),
        lambda: store.put_file(key, source),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.signed_url(key),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidKey):
            attempt()
    assert list(store.list()) == []


def test_longest_valid_key(store: Storage) -> None:
    key = "/".join(["x" * 127] * 4)
    assert len(key) == 511
    store.put(key, b"long")
    assert list(store.list()) == [key]


def test_invalid_key_is_a_storage_error_and_a_value_error(store: Storage) -> None:
    with pytest.raises(StorageError):
        store.get("../x")
    with pytest.raises(ValueError, match="invalid storage key"):
        store.get("../x")


@pytest.mark.parametrize("prefix", ["../", "/abs", "a//", "a b", "..", "./"], ids=repr)
def test_list_refuses_invalid_prefixes(store: Storage, prefix: str) -> None:
    with pytest.raises(InvalidKey):
        store.list(prefix)


# -- signed URLs, probes, description -----------------------------------------


def test_signed_url(request: pytest.FixtureRequest, store: Storage) -> None:
    store.put("tiles/5/0/0/0.png", BINARY, content_type="image/png")
    url = store.signed_url("tiles/5/0/0/0.png", expires_in=30)
    if isinstance(store, LocalStorage):
        assert url is None
        return
    assert url is not None
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=30" in url
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == BINARY
        assert response.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize("expires_in", [0, -1, 7 * 24 * 3600 + 1, True])
def test_signed_url_refuses_odd_lifetimes(store: Storage, expires_in: int) -> None:
    with pytest.raises(ValueError, match="expires_in must be"):
        store.signed_url("a", expires_in=expires_in)


def test_check_passes_and_leaves_nothing_behind(store: Storage) -> None:
    store.check()
    assert list(store.list()) == []


def test_describe_says_where_without_secrets(store: Storage) -> None:
    text = store.describe()
    if isinstance(store, S3Storage):
        assert text.startswith(f"s3://{store.bucket}/deployment-a at http://127.0.0.1:")
    else:
        assert text == f"local folder {store.root}"
    assert "testing" not in text
    assert text in repr(store)
