"""Fixtures for plan tests: an app whose storage is a local folder or the S3 endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS


@pytest.fixture(params=["local", "s3"])
def storage_backend(request: pytest.FixtureRequest, app_config: dict[str, Any], tmp_path: Path) -> str:
    """Parametrises a test over both storage backends (set before ``app`` is created)."""
    if request.param == "s3":
        _endpoint, bucket = request.getfixturevalue("s3_bucket")
        app_config["STORAGE_URL"] = f"s3://{bucket}/deployment"
    return str(request.param)


@pytest.fixture
def fast_render(app_config: dict[str, Any]) -> dict[str, Any]:
    """Small pyramids: these tests check the path, not the resolution (converters' tests do)."""
    app_config.update(PAGE_MAX_PIXELS=4_000_000, RENDER_WORKERS=2, JOBS_IMMEDIATE=True)
    return app_config


def corpus(name: str) -> Path:
    path = CORPUS / name
    assert path.exists(), f"{path} is missing: the tests read ../shared/corpus"
    return path
