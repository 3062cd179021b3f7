"""Tiles from S3 without the app carrying the bytes (TILE_REDIRECT_SECONDS): after its access
check the tile route answers 302 to a short-lived presigned GET on a real S3 HTTP endpoint
(moto's server), the tile gate answers the same way, and refused visitors get no URL."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask

from floorplans import objects
from floorplans.db import db, utcnow
from floorplans.models import PlanPage, PlanVersion, Role, VersionState
from tests.conftest import Browser

LIFETIME = 120


@pytest.fixture
def app_config(app_config: dict[str, Any], s3_bucket: tuple[str, str]) -> dict[str, Any]:
    app_config.update(STORAGE_URL=f"s3://{s3_bucket[1]}/plans", TILE_REDIRECT_SECONDS=LIFETIME)
    return app_config


def _ignoring_signing_time(headers: Any) -> dict[str, str]:
    kept = {name: value for name, value in headers.items() if name not in ("Date", "Server")}
    location = urlsplit(kept.pop("Location"))
    kept["Location"] = f"{location.scheme}://{location.netloc}{location.path}"
    return kept


def test_tiles_redirect_to_presigned_s3_urls_after_the_access_check(
    app: Flask, s3_bucket: tuple[str, str], make_organisation, make_user, make_building, browser_for
) -> None:
    endpoint = s3_bucket[0]
    own, other = make_organisation("Gurdwara Sahib"), make_organisation("St. Mary's Parish")
    building = make_building(own)
    version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=1, pages=[PlanPage(number=1, position=1, label="Ground")])
    db.session.add(version)
    db.session.flush()
    objects.get_storage().put(objects.tile_key(version.key, 1, 2, 1, 3), b"RIFF-from-s3", content_type="image/webp")
    building.published_version = version
    version.published_at = utcnow()
    db.session.commit()
    url = f"/r/tiles/{version.key}/1/2/1/3.webp"

    officer = browser_for(make_user(Role.OFFICER))
    full = officer.get(url)
    assert full.status_code == 302 and full.headers["Location"].startswith(endpoint + "/")
    assert parse_qs(urlsplit(full.headers["Location"]).query)["X-Amz-Expires"] == [str(LIFETIME)]
    assert full.headers["Cache-Control"] == f"private, max-age={LIFETIME // 2}"
    fetched = requests.get(full.headers["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == b"RIFF-from-s3"
    # The next one comes from the tile gate, the same answer.
    lean = officer.get(url)
    assert lean.status_code == 302 and _ignoring_signing_time(lean.headers) == _ignoring_signing_time(full.headers)
    # The page may show images from the store and its service worker may follow the redirect.
    policy = officer.get("/r/").headers["Content-Security-Policy"]
    assert f"img-src 'self' {endpoint} " in policy and f"connect-src 'self' {endpoint};" in policy

    for refused in (browser_for(make_user(Role.PARTNER, other)), Browser(app.test_client())):
        for _ in range(2):
            response = refused.get(url)
            assert response.status_code in (302, 404)
            assert endpoint not in response.headers.get("Location", "")
