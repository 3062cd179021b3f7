"""How a plan tile is answered, by the tile routes (in-car and API) and by the tile gate alike:
the ETag and its 304, the redirect to a presigned S3 URL (``TILE_REDIRECT_SECONDS``), the
image, and their caching rules.  Whether the reader may have the tile is decided before, by
``services.plan_tiles.may_read_tile``; the security headers every response carries are
added by Flask's ``after_request`` on the full path and by the gate itself on the lean one.

An answer is plain data (status, headers, body) so that a Flask view and the WSGI gate send
the same bytes; ``tile_response`` and ``overview_response`` are the routes' whole answer
(the in-car view's and the API's: one reader, checked, answered).  Must not import
blueprints, storage or converters.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, Response, current_app, request
from werkzeug.http import HTTP_STATUS_CODES, parse_etags, quote_etag

from floorplans import objects, tile_links, tile_urls
from floorplans.config import get_settings
from floorplans.errors import NotFound
from floorplans.models import User
from floorplans.services import plan_tiles


@dataclass(frozen=True, slots=True)
class TileAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = field(default=b"", repr=False)

    @property
    def status_line(self) -> str:
        """As WSGI's ``start_response`` wants it (and as werkzeug spells it)."""
        return f"{self.status} {HTTP_STATUS_CODES[self.status].upper()}"


def tile_etag(version_key: str, page: int, z: int, x: int, y: int) -> str:
    return f"{version_key}-{page}-{z}-{x}-{y}"


def overview_etag(version_key: str, page: int) -> str:
    return f"{version_key}-{page}-overview"


def _cached(etag: str) -> list[tuple[str, str]]:
    return [("ETag", quote_etag(etag)), ("Cache-Control", tile_urls.CACHE_CONTROL)]


def image_answer(etag: str, if_none_match: str | None, data: bytes) -> TileAnswer:
    """The image, or 304 when the browser already has it (``If-None-Match``)."""
    if parse_etags(if_none_match).contains(etag):
        return TileAnswer(304, _cached(etag))
    return TileAnswer(200, [("Content-Type", "image/webp"), ("Content-Length", str(len(data))), *_cached(etag)], data)


def tile_answer(app: Flask, version_key: str, page: int, z: int, x: int, y: int, *,
                if_none_match: str | None) -> TileAnswer | None:
    """One tile, for a reader ``may_read_tile`` let in: 304 when the browser has it (the
    access check still ran), a redirect to a presigned URL when the store has such URLs and
    the deployment asks for them, or the image; None when the tile is not in the store."""
    etag = tile_etag(version_key, page, z, x, y)
    if parse_etags(if_none_match).contains(etag):
        return TileAnswer(304, _cached(etag))  # without reading the store
    store, key = objects.storage_of(app), objects.tile_key(version_key, page, z, x, y)
    lifetime = tile_links.redirect_lifetime(get_settings(app))
    signed = store.signed_url(key, expires_in=lifetime) if lifetime else None
    if signed:
        # S3 sends the bytes; the browser may reuse this redirect for half the URL's life.
        return TileAnswer(302, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "0"),
                                ("Location", signed), ("Cache-Control", tile_links.redirect_cache_control(lifetime))])
    try:
        data = store.get(key)
    except FileNotFoundError:
        return None
    return image_answer(etag, if_none_match, data)


def _sent(answer: TileAnswer) -> Response:
    return Response(answer.body, answer.status, answer.headers)


def tile_response(reader: User, version_key: str, page: int, z: int, x: int, y: int) -> Response:
    """A tile route's answer to ``reader`` (the signed-in user or the API token's): 404 unless
    ``may_read_tile``, then ``tile_answer`` (304 still access-checked, a presigned redirect, or
    the image), 404 for a tile not in the store."""
    plan_tiles.check_tile_access(reader, version_key, page)
    answer = tile_answer(current_app, version_key, page, z, x, y, if_none_match=request.headers.get("If-None-Match"))
    if answer is None:
        raise NotFound("There is no such tile.")
    return _sent(answer)


def overview_response(reader: User, version_key: str, page: int) -> Response:
    """A page's small image for ``reader``, under the tiles' rule and caching."""
    data = plan_tiles.read_overview(reader, version_key, page)
    return _sent(image_answer(overview_etag(version_key, page), request.headers.get("If-None-Match"), data))
