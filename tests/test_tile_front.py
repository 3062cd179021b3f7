"""The signed tile front: a real nginx (Debian's, with secure_link) started on a free
loopback port serves the tiles the app's signed URL templates point at, and refuses altered
(403) and expired (410) signatures by itself.  `make test` installs nginx (the Makefile's
nginx target); the test runs whenever /usr/sbin/nginx exists."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from bench.nginx import nginx_conf
from floorplans import objects, tile_links
from floorplans.config import get_settings
from floorplans.db import db, utcnow
from floorplans.models import PlanPage, PlanVersion, VersionState
from floorplans.representations import page_json

NGINX = Path("/usr/sbin/nginx")
SECRET = "test-tile-secret-0123456789"

pytestmark = [pytest.mark.skipif(not NGINX.exists(), reason="nginx is not installed (make test installs it)"),
              pytest.mark.slow]  # starts nginx: another program


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """nginx serving the signed tile locations over ``tmp_path/storage``."""
    port, storage = _free_port(), tmp_path / "storage"
    storage.mkdir()
    folder = tmp_path / "nginx"
    conf = nginx_conf(folder, port, tile_links.nginx_locations(secret=SECRET, storage_root=str(storage)))
    process = subprocess.Popen([str(NGINX), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    message = process.stderr.read() if process.stderr else b""
                    raise RuntimeError(f"nginx did not start: {message!r}") from error
                time.sleep(0.05)
        yield port, storage
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr:
            process.stderr.close()


@pytest.fixture
def front_app(nginx: tuple[int, Path], app_config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    port, storage = nginx
    app_config.update(STORAGE_URL=str(storage), TILE_URL_SECRET=SECRET,
                      TILE_URL_BASE=f"http://127.0.0.1:{port}/t", TILE_URL_LIFETIME_SECONDS=600)
    return port, app_config


def test_nginx_serves_signed_tiles_and_refuses_altered_or_expired_ones(
    front_app: tuple[int, dict[str, Any]], app: Flask, make_building
) -> None:
    building = make_building()
    version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=2,
                          pages=[PlanPage(number=n, position=n, label=f"Floor {n}") for n in (1, 2)])
    db.session.add(version)
    db.session.flush()
    store = objects.get_storage()
    store.put(objects.tile_key(version.key, 1, 2, 1, 3), b"RIFF-tile-1-2-1-3")
    store.put(objects.tile_key(version.key, 2, 2, 1, 3), b"RIFF-tile-2-2-1-3")
    building.published_version = version
    version.published_at = utcnow()
    db.session.commit()

    # The template the in-car page and the API hand out (page_json) is signed, and nginx serves it.
    with app.test_request_context():
        template = page_json(version, version.pages[0])["tile_url"]
    assert template.startswith(f"http://127.0.0.1:{front_app[0]}/t/") and template.endswith("/{z}/{x}/{y}.webp")
    url = template.format(z=2, x=1, y=3)
    response = requests.get(url, timeout=5)
    assert response.status_code == 200 and response.content == b"RIFF-tile-1-2-1-3"
    assert response.headers["Content-Type"] == "image/webp"
    assert "immutable" in response.headers["Cache-Control"]
    assert requests.get(template.format(z=2, x=1, y=4), timeout=5).status_code == 404  # signed, but no such tile

    expires, signature = url.split("/t/", 1)[1].split("/")[:2]
    # An altered signature, another page or version under this signature, a later expiry: refused.
    # Alter the first character: every bit of it counts (the last one of a base64 MD5 carries
    # padding bits a decoder may ignore, which made this check pass by chance one time in four).
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert requests.get(url.replace(signature, flipped), timeout=5).status_code == 403
    assert requests.get(url.replace(f"{version.key}/1/", f"{version.key}/2/"), timeout=5).status_code == 403
    assert requests.get(url.replace(f"/{expires}/", f"/{int(expires) + 3600}/"), timeout=5).status_code == 403
    assert requests.get(url.replace(f"/{signature}/", "/"), timeout=5).status_code == 403
    # Page 2 with its own signature is served.
    with app.test_request_context():
        second = page_json(version, version.pages[1])["tile_url"].format(z=2, x=1, y=3)
    assert requests.get(second, timeout=5).content == b"RIFF-tile-2-2-1-3"

    # A URL handed out long ago has expired: nginx says so (410), the tile exists all the same.
    old = tile_links.tile_url_template(get_settings(app), version.key, 1, now=time.time() - 7200)
    assert requests.get(f"http://127.0.0.1:{front_app[0]}" + old.split(str(front_app[0]), 1)[1].format(
        z=2, x=1, y=3), timeout=5).status_code == 410
    # Nothing outside the tiles is reachable through the front.
    assert requests.get(f"http://127.0.0.1:{front_app[0]}/t/", timeout=5).status_code == 403
    assert requests.get(f"http://127.0.0.1:{front_app[0]}/t/{expires}/{signature}/../../etc/passwd",
                        timeout=5).status_code in (400, 403, 404)


def test_signatures_match_what_nginx_computes() -> None:
    """The documented formula (base64url MD5 of "$expires $prefix secret", unpadded)."""
    import base64
    import hashlib

    expected = base64.urlsafe_b64encode(hashlib.md5(b"1700000000 abc/1 s3cret").digest()).rstrip(b"=").decode()
    assert tile_links.signature("s3cret", 1700000000, "abc/1") == expected
    assert tile_links.expiry(3600, now=1_000_000) >= 1_000_000 + 3600
    assert tile_links.expiry(3600, now=1_000_000) == tile_links.expiry(3600, now=1_000_100)  # stable URLs
