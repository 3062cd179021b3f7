"""pytest plugin: a real S3 HTTP endpoint (moto's threaded server) for any suite.

Registered with ``pytest_plugins = ["tests.fixtures_s3"]``. Fixtures:

- ``s3_server`` (session): moto's ``ThreadedMotoServer`` on 127.0.0.1 and a
  free port; yields its endpoint URL and stops it at the end.
- ``aws_test_env`` (function): removes every ``AWS_*`` variable of the
  machine, then sets dummy credentials and a region, and points the config and
  credentials files at nothing, so boto3's standard settings see only the test.
- ``s3_bucket`` (function): ``aws_test_env`` plus ``AWS_ENDPOINT_URL_S3`` set
  to the server, and a fresh uniquely named bucket; yields
  ``(endpoint_url, bucket_name)`` and empties and removes the bucket after.
  Code that builds its client from boto3's settings (``storage.from_url``)
  reaches the bucket with no endpoint argument.
- ``s3_client`` (function): a boto3 S3 client on the server, the test's own.
- ``make_s3_client(endpoint_url, **config)``: the same, for tests that need
  their own botocore settings (timeouts, retries).
- ``fake_response(url, status, body)``: an answer for a botocore
  ``before-send`` hook, to inject faults while botocore's retries stay real.
- ``like_aws(client)``: makes moto as strict as AWS where it is lenient.

Do not combine with moto's in-process ``mock_aws``: it would intercept these
requests before they reach the server. This module must not import the
application (``floorplans``, ``blueprints``, ``storage``): it is test tooling.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3.session
import botocore.config
import botocore.loaders
import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.server import ThreadedMotoServer

TEST_REGION = "us-east-1"
TEST_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Endpoint URL of a moto S3 server shared by the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_test_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Make boto3's standard settings come from the test alone."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    nowhere = tmp_path_factory.mktemp("aws") / "absent"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nowhere))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", TEST_REGION)
    # Never wait on an instance-metadata lookup if credentials go missing.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


_DESCRIPTIONS = botocore.loaders.create_loader()


def make_s3_client(endpoint_url: str, **config: Any) -> Any:
    """A client on ``endpoint_url`` with the dummy credentials; ``config`` goes to botocore."""
    settings: dict[str, Any] = {"signature_version": "s3v4"}
    settings.update(config)
    core = botocore.session.get_session()
    core.register_component("data_loader", _DESCRIPTIONS)  # S3's description read once, not per client
    return boto3.session.Session(region_name=TEST_REGION, botocore_session=core, **TEST_CREDENTIALS).client(
        "s3", endpoint_url=endpoint_url, config=botocore.config.Config(**settings)
    )


class _RawBody:
    """The raw-stream side of an ``AWSResponse``, as botocore reads it."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_kwargs: object) -> Iterator[bytes]:
        yield self._data


def fake_response(url: str, status: int, body: bytes = b"") -> AWSResponse:
    """An HTTP answer that a ``before-send`` hook returns instead of sending."""
    return AWSResponse(url, status, {}, _RawBody(body))


def s3_error_body(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()


# AWS refuses a DeleteObjects request naming more than 1000 keys; moto accepts it.
_DELETE_OBJECTS_LIMIT = 1000


def _refuse_oversized_delete(request: AWSPreparedRequest, **_kwargs: object) -> AWSResponse | None:
    body = request.body if isinstance(request.body, bytes) else b""
    if body.count(b"<Object>") > _DELETE_OBJECTS_LIMIT:
        return fake_response(
            request.url, 400, s3_error_body("MalformedXML", "more than 1000 keys in one request")
        )
    return None


def like_aws(client: Any) -> Any:
    """Make ``client``'s requests meet AWS's limits where moto doesn't check them."""
    client.meta.events.register("before-send.s3.DeleteObjects", _refuse_oversized_delete)
    return client


@pytest.fixture(scope="session")
def _s3_admin_client(s3_server: str) -> Any:
    # Shared by the bucket fixture only (explicit credentials, no hooks), so
    # that each test doesn't pay for building a client it never sees.
    return make_s3_client(s3_server)


@pytest.fixture
def s3_client(s3_server: str, aws_test_env: None) -> Any:
    """A boto3 S3 client on the moto server, the test's own (hooks welcome)."""
    return make_s3_client(s3_server)


@pytest.fixture
def s3_bucket(
    s3_server: str,
    _s3_admin_client: Any,
    aws_test_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, str]]:
    """A fresh empty bucket: ``(endpoint_url, bucket_name)``."""
    client = _s3_admin_client
    bucket = f"test-{uuid.uuid4().hex[:24]}"
    client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server)
    yield s3_server, bucket
    # Emptied so that a long session doesn't pile objects up in moto's memory.
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", ())]
        if objects:
            client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    client.delete_bucket(Bucket=bucket)
