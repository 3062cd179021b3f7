"""The object store of this deployment (a local folder or an S3 bucket), built once per app
from ``FLOORPLANS_STORAGE_URL``, and the storage keys of everything the app keeps there.

Keys are built here and nowhere else (never in blueprints):
  originals/<sha256>.pdf
  tiles/<version key>/<page>/<z>/<x>/<y>.webp, .../overview.webp, .../manifest.json (written last)
  tiles/<version key>/labels.json (every page's room labels, converters.rooms; with the tiles)
  imports/<token>.csv (an admin's CSV upload until it is imported), imports/<token>.json (its job's state)
  buildings/<building id>/photos/<token>/<size>.webp (a photo's stored sizes, services.photos)
A tile's key is the tile URL grammar's (floorplans.tile_urls): the routes and the tile front
end with the same ``<version key>/<page>/<z>/<x>/<y>.webp``.

Must not import blueprints or converters.
"""
from __future__ import annotations

from flask import Flask, current_app

import storage
from floorplans import tile_urls
from floorplans.config import get_settings
from storage import Storage


def init_app(app: Flask) -> None:
    settings = get_settings(app)
    app.extensions["floorplans.storage"] = storage.from_url(settings.storage_url, endpoint_url=settings.s3_endpoint_url)


def get_storage() -> Storage:
    return storage_of(current_app)


def storage_of(app: Flask) -> Storage:
    """The app's store outside a request (the tile gate answers before Flask)."""
    storage: Storage = app.extensions["floorplans.storage"]
    return storage


def original_key(sha256: str) -> str:
    return f"originals/{sha256}.pdf"


IMPORTS_PREFIX = "imports/"


def import_key(token: str) -> str:
    return f"{IMPORTS_PREFIX}{token}.csv"


def import_state_key(token: str) -> str:
    return f"{IMPORTS_PREFIX}{token}.json"


#: Where every version's tiles are kept (``tiles/<version key>/...``).
TILES_PREFIX = f"{tile_urls.FOLDER}/"


def version_key_of(key: str) -> str:
    """The version key of a key under ``TILES_PREFIX``."""
    return key.removeprefix(TILES_PREFIX).split("/", 1)[0]


def version_prefix(version_key: str) -> str:
    return f"{TILES_PREFIX}{version_key}/"


def page_prefix(version_key: str, page: int) -> str:
    return f"{TILES_PREFIX}{tile_urls.page_path(version_key, page)}/"


def tile_key(version_key: str, page: int, z: int, x: int, y: int, ext: str = "webp") -> str:
    return tile_urls.storage_key(version_key, page, z, x, y, ext)


def overview_key(version_key: str, page: int) -> str:
    return page_prefix(version_key, page) + "overview.webp"


def manifest_key(version_key: str, page: int) -> str:
    return page_prefix(version_key, page) + "manifest.json"


def labels_key(version_key: str) -> str:
    """The version's room labels: one JSON object beside its pages, kept, copied and
    deleted with its tiles (everything under ``version_prefix``)."""
    return version_prefix(version_key) + "labels.json"


def building_photos_prefix(building_id: int) -> str:
    """Everything photographed of one building (a building's deletion or backup takes it all)."""
    return f"buildings/{building_id}/photos/"


def photo_prefix(building_id: int, token: str) -> str:
    return f"{building_photos_prefix(building_id)}{token}/"


def photo_key(building_id: int, token: str, size: int) -> str:
    return f"{photo_prefix(building_id, token)}{size}.webp"
