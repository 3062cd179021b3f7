"""The error handlers: a method a route does not take is a 405 that names the ones it does."""
from __future__ import annotations


def test_a_method_not_allowed_names_the_allowed_ones(app) -> None:
    client = app.test_client()
    page = client.post("/healthz")
    assert page.status_code == 405
    assert set(page.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    api = client.delete("/api/v1/buildings", headers={"Accept": "application/json"})
    assert api.status_code == 405 and "GET" in api.headers["Allow"].split(", ")
    assert "error" in api.get_json()
