"""/healthz and /readyz answer load balancers without a login and without details."""
from __future__ import annotations

from typing import Any

import pytest


def test_healthy_and_ready(app) -> None:
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "storage": "ok", "queue": "ok"}}


@pytest.fixture
def unreachable_s3(app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    app_config["STORAGE_URL"] = "s3://nowhere/prefix"
    app_config["S3_ENDPOINT_URL"] = "http://127.0.0.1:9"  # the discard port: nothing listens


def test_not_ready_when_storage_is_unreachable(unreachable_s3, app, caplog) -> None:
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready" and body["checks"]["storage"] == "failing"
    assert body["checks"]["database"] == "ok"
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no details for anonymous callers
