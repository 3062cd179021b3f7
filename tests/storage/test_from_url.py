"""from_url: the storage URL setting picks and builds the backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import LocalStorage, S3Storage, from_url


def test_a_plain_path_is_a_local_folder_created_if_missing(tmp_path: Path) -> None:
    store = from_url(str(tmp_path / "instance" / "objects"))
    assert isinstance(store, LocalStorage)
    assert store.root == tmp_path / "instance" / "objects"
    assert store.root.is_dir()


def test_a_relative_path_is_taken_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = from_url("instance/objects")
    assert isinstance(store, LocalStorage)
    assert store.root == tmp_path / "instance" / "objects"


def test_a_file_url_is_a_local_folder(tmp_path: Path) -> None:
    store = from_url((tmp_path / "with space").as_uri())
    assert isinstance(store, LocalStorage)
    assert store.root == tmp_path / "with space"
    store.put("a", b"a")
    assert (tmp_path / "with space" / "a").read_bytes() == b"a"


def test_an_s3_url_is_a_bucket_reached_through_boto3_settings(
    s3_bucket: tuple[str, str],
) -> None:
    endpoint, bucket = s3_bucket
    store = from_url(f"s3://{bucket}/plans/", max_workers=3)
    assert isinstance(store, S3Storage)
    assert (store.bucket, store.prefix, store.max_workers) == (bucket, "plans", 3)
    assert store.describe() == f"s3://{bucket}/plans at {endpoint}"
    store.check()


def test_an_explicit_endpoint_wins(s3_bucket: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, bucket = s3_bucket
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    store = from_url(f"s3://{bucket}", endpoint_url=endpoint)
    store.check()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("gs://bucket/x", "unsupported storage URL scheme 'gs'"),
        ("http://example.invalid/x", "unsupported storage URL scheme 'http'"),
        ("file://otherhost/srv/objects", "not a local file URL"),
        ("s3://", "not an S3 storage URL"),
    ],
)
def test_other_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_url(url)
