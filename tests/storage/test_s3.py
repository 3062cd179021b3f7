"""What only the S3 backend can get wrong: its prefix, content types, and faults.

Faults are injected with botocore's ``before-send`` hook on the store's own
client, so that botocore's real retry logic handles them; nothing of S3 itself
is mocked, the rest of each request goes to moto's HTTP server.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import botocore.exceptions
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from storage import S3Storage, StorageError
from tests.fixtures_s3 import TEST_CREDENTIALS, fake_response, make_s3_client, s3_error_body
from tests.storage.conftest import S3_STORE_PREFIX


def _answer(status: int, body: bytes = b"") -> Callable[..., AWSResponse]:
    def hook(request: AWSPreparedRequest, **_kwargs: object) -> AWSResponse:
        return fake_response(request.url, status, body)

    return hook


ACCESS_DENIED = s3_error_body("AccessDenied", "Access Denied")


class Faults:
    """Counts the requests of one operation and answers the chosen ones itself."""

    def __init__(self, store: S3Storage, operation: str) -> None:
        self.attempts: list[str] = []
        self.rules: list[tuple[Callable[[int, str], bool], Callable[..., AWSResponse]]] = []
        store.client.meta.events.register(f"before-send.s3.{operation}", self._hook)

    def when(
        self, condition: Callable[[int, str], bool], answer: Callable[..., AWSResponse]
    ) -> None:
        self.rules.append((condition, answer))

    def _hook(self, request: AWSPreparedRequest, **kwargs: object) -> AWSResponse | None:
        self.attempts.append(request.url)
        for condition, answer in self.rules:
            if condition(len(self.attempts), request.url):
                return answer(request, **kwargs)
        return None  # on to moto


def _raw_keys(store: S3Storage) -> list[str]:
    response = store.client.list_objects_v2(Bucket=store.bucket)
    return [item["Key"] for item in response.get("Contents", ())]


# -- layout --------------------------------------------------------------------


def test_keys_live_under_the_store_prefix_and_nothing_else_is_seen(
    s3_store: S3Storage,
) -> None:
    client = s3_store.client
    # A sibling that merely starts with the prefix, a neighbour, a stray key.
    client.put_object(Bucket=s3_store.bucket, Key=f"{S3_STORE_PREFIX}-b/a", Body=b"x")
    client.put_object(Bucket=s3_store.bucket, Key="other/a", Body=b"x")
    client.put_object(Bucket=s3_store.bucket, Key=f"{S3_STORE_PREFIX}/bad key", Body=b"x")

    s3_store.put("a", b"mine")
    assert f"{S3_STORE_PREFIX}/a" in _raw_keys(s3_store)
    assert list(s3_store.list()) == ["a"]
    with pytest.raises(FileNotFoundError):
        s3_store.get("other/a")
    s3_store.put("tiles/1/x.png", b"x")
    assert s3_store.delete_prefix("tiles/") == 1
    assert sorted(_raw_keys(s3_store)) == [
        f"{S3_STORE_PREFIX}-b/a",
        f"{S3_STORE_PREFIX}/a",
        f"{S3_STORE_PREFIX}/bad key",
        "other/a",
    ]


def test_content_type_is_guessed_from_the_key_unless_given(
    s3_store: S3Storage, tmp_path: Path
) -> None:
    s3_store.put("tiles/1/0/0/0.png", b"png")
    s3_store.put("tiles/1/manifest.json", b"{}", content_type="application/vnd.tiles+json")
    s3_store.put("blob", b"?")
    source = tmp_path / "plan.pdf"
    source.write_bytes(b"%PDF-1.7")
    s3_store.put_file("originals/abc", source, content_type="application/pdf")

    def content_type(key: str) -> str:
        head = s3_store.client.head_object(
            Bucket=s3_store.bucket, Key=f"{S3_STORE_PREFIX}/{key}"
        )
        return str(head["ContentType"])

    assert content_type("tiles/1/0/0/0.png") == "image/png"
    assert content_type("tiles/1/manifest.json") == "application/vnd.tiles+json"
    assert content_type("blob") == "application/octet-stream"
    assert content_type("originals/abc") == "application/pdf"


def test_from_url_with_an_explicit_endpoint(s3_bucket: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, bucket = s3_bucket
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    store = S3Storage.from_url(f"s3://{bucket}", endpoint_url=endpoint)
    store.put("k", b"v")
    assert store.get("k") == b"v"
    assert store.describe() == f"s3://{bucket}/ at {endpoint}"


@pytest.mark.parametrize(
    "url", ["s3://", "s3:///prefix", "http://bucket/x", "s3://bucket/x?region=eu", "s3://a@b/x"]
)
def test_from_url_refuses_malformed_urls(url: str) -> None:
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        S3Storage.from_url(url)


# -- faults --------------------------------------------------------------------


def test_transient_503s_are_retried(s3_store: S3Storage) -> None:
    faults = Faults(s3_store, "PutObject")
    faults.when(lambda attempt, _url: attempt <= 2, _answer(503))

    s3_store.put("tiles/1/manifest.json", b"{}")

    assert len(faults.attempts) == 3
    assert s3_store.get("tiles/1/manifest.json") == b"{}"


def test_dropped_connections_are_retried(s3_store: S3Storage) -> None:
    def drop(request: AWSPreparedRequest, **_kwargs: object) -> AWSResponse:
        raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)

    faults = Faults(s3_store, "PutObject")
    faults.when(lambda attempt, _url: attempt == 1, drop)

    s3_store.put("a", b"a")

    assert len(faults.attempts) == 2
    assert s3_store.get("a") == b"a"


def test_a_put_that_keeps_failing_is_a_storage_error(s3_store: S3Storage) -> None:
    faults = Faults(s3_store, "PutObject")
    faults.when(lambda _attempt, _url: True, _answer(503))

    with pytest.raises(StorageError) as caught:
        s3_store.put("tiles/1/manifest.json", b"{}")

    # max_attempts=5 retries after the first attempt.
    assert len(faults.attempts) == 6
    error = caught.value
    assert not isinstance(error, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError)
    assert isinstance(error.__cause__, botocore.exceptions.ClientError)
    assert "tiles/1/manifest.json" in str(error)
    assert "HTTP 503" in str(error)
    assert TEST_CREDENTIALS["aws_secret_access_key"] not in str(error)
    assert not s3_store.exists("tiles/1/manifest.json")


def test_a_refused_put_is_a_storage_error_without_retries(s3_store: S3Storage) -> None:
    faults = Faults(s3_store, "PutObject")
    faults.when(lambda _attempt, _url: True, _answer(403, ACCESS_DENIED))

    with pytest.raises(StorageError, match="AccessDenied"):
        s3_store.put("a", b"a")
    assert len(faults.attempts) == 1


def test_put_many_with_some_failures_raises_storage_error(s3_store: S3Storage) -> None:
    faults = Faults(s3_store, "PutObject")
    faults.when(lambda _attempt, url: url.endswith("/17.png"), _answer(403, ACCESS_DENIED))
    progress: list[int] = []

    with pytest.raises(StorageError, match="AccessDenied") as caught:
        s3_store.put_many(
            ((f"tiles/1/{i}.png", b"tile", None) for i in range(200)),
            on_progress=progress.append,
        )

    assert "put_many: 1 object(s) failed" in str(caught.value)
    stored = list(s3_store.list())
    assert "tiles/1/17.png" not in stored
    # Objects already in flight finished; the rest of the generator was not read.
    assert 17 <= len(stored) < 200
    assert not progress or progress[-1] == len(stored)


def test_get_many_with_a_failed_read_is_a_storage_error(s3_store: S3Storage) -> None:
    s3_store.put_many((f"tiles/1/{i}.webp", b"tile", None) for i in range(40))
    faults = Faults(s3_store, "GetObject")
    faults.when(lambda _attempt, url: url.endswith("/17.webp"), _answer(403, ACCESS_DENIED))
    with pytest.raises(StorageError, match="AccessDenied"):
        s3_store.get_many((f"tiles/1/{i}.webp" for i in range(40)), workers=2)
    # Two at a time: the reads queued behind the failure were dropped, not tried.
    assert "/tiles/1/17.webp" in " ".join(faults.attempts) and len(faults.attempts) < 40


def test_put_file_failure_is_a_storage_error(s3_store: S3Storage, tmp_path: Path) -> None:
    faults = Faults(s3_store, "PutObject")
    faults.when(lambda _attempt, _url: True, _answer(403, ACCESS_DENIED))
    source = tmp_path / "plan.pdf"
    source.write_bytes(b"%PDF-1.7")

    with pytest.raises(StorageError, match="AccessDenied"):
        s3_store.put_file("originals/a.pdf", source)


def test_failed_deletes_reported_inside_a_200_are_a_storage_error(s3_store: S3Storage) -> None:
    s3_store.put_many([(f"tiles/1/{i}.png", b"t", None) for i in range(3)])
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><DeleteResult>'
        b"<Error><Key>deployment-a/tiles/1/0.png</Key><Code>AccessDenied</Code>"
        b"<Message>Access Denied</Message></Error></DeleteResult>"
    )
    faults = Faults(s3_store, "DeleteObjects")
    faults.when(lambda _attempt, _url: True, _answer(200, body))

    with pytest.raises(StorageError, match="1 of 3 objects not deleted"):
        s3_store.delete_prefix("tiles/")


def test_an_unreachable_endpoint_fails_check_quickly(aws_test_env: None) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is closed now: connections are refused.
    client = make_s3_client(
        f"http://127.0.0.1:{port}",
        connect_timeout=1,
        read_timeout=1,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    store = S3Storage(client, "plans")

    started = time.monotonic()
    with pytest.raises(StorageError, match="Could not connect") as caught:
        store.check()
    with pytest.raises(StorageError):
        store.get("a")
    assert time.monotonic() - started < 5
    assert isinstance(caught.value.__cause__, botocore.exceptions.EndpointConnectionError)


def test_check_fails_on_a_missing_bucket(s3_bucket: tuple[str, str]) -> None:
    endpoint, _bucket = s3_bucket
    store = S3Storage(make_s3_client(endpoint), "no-such-bucket-here")
    with pytest.raises(StorageError, match="404"):
        store.check()
    # Missing bucket is a configuration error, not a missing object.
    with pytest.raises(StorageError, match="NoSuchBucket"):
        store.get("a")


def test_missing_credentials_are_a_storage_error(
    s3_bucket: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _endpoint, bucket = s3_bucket
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = S3Storage.from_url(f"s3://{bucket}")
    with pytest.raises(StorageError, match="NoCredentialsError"):
        store.get("a")
