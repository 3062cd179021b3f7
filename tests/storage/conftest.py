"""Fixtures for the storage tests: one store of each backend, fresh per test.

The S3 fixtures come from the ``tests.fixtures_s3`` plugin, which
tests/conftest.py registers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import LocalStorage, S3Storage
from tests.fixtures_s3 import like_aws

# A store prefix, so that every S3 test also checks that keys stay under it.
S3_STORE_PREFIX = "deployment-a"


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "objects")


@pytest.fixture
def s3_store(s3_bucket: tuple[str, str]) -> S3Storage:
    # Built the way the app builds it: from the URL, endpoint and credentials
    # from boto3's standard settings (which s3_bucket points at moto).
    _endpoint, bucket = s3_bucket
    store = S3Storage.from_url(f"s3://{bucket}/{S3_STORE_PREFIX}")
    like_aws(store.client)
    return store
