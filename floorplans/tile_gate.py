"""The lean path for tile GETs: most requests an officer's browser sends are plan tiles, and
the full Flask path (session cookie, Flask-Login's user load, the login session's database
row, the version lookup, the after-request hooks) costs about a millisecond of CPU each.

The gate is a WSGI layer in front of Flask that answers a tile GET by itself only when the
full path has just answered the same question: the tile route, once it has let a login
session read a tile, tells the gate (``remember``) what that session may read (role and
congregation), keyed by the signed session cookie exactly as the browser sent it.  For
``TILE_SESSION_RECHECK_SECONDS`` (5) the gate then serves that cookie's tile GETs from the
same rule (``plan_tiles.TileAccess.allows``), the version's access answer the tile route
keeps (``services.plan_tiles``) and the storage (or a redirect to a presigned S3 URL, with
``TILE_REDIRECT_SECONDS``), with the same headers.  Anything else goes
through the full path untouched and gets its usual answer: no cookie, a cookie the gate has
not seen or saw too long ago, an API token, another congregation's plan, an unknown version,
a missing tile, HEAD, odd URLs.

So an ended login (logout, password change, disabled account, idle or absolute limit) stops
getting tiles from a process within those seconds (at once in the process where it ended:
that process forgets everything it remembered).  docs/security.md states the figure.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g, has_app_context, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from werkzeug.http import parse_cookie, parse_etags

from floorplans import objects, security, tile_links
from floorplans.models import LoginSession, User
from floorplans.services import plan_tiles

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: How long a login session's answer is reused without asking the database again.
DEFAULT_RECHECK_SECONDS = 5.0
_MAX_REMEMBERED = 20_000
EXTENSION = "floorplans.tile_gate"


@dataclass(frozen=True, slots=True)
class TileReader:
    """What the full path found a login session's user to be: enough for ``can_read_of``."""

    role: str
    organisation_id: int | None
    checked_at: float
    active: bool = True


class TileGate:
    """WSGI middleware; inert until the tile route opens it (``open_for``)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.pattern: re.Pattern[str] | None = None
        self.cache_control = ""
        self.readers: dict[str, TileReader] = {}
        self.clock: Callable[[], float] = time.monotonic

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self._answer(environ) if self.pattern is not None else None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    def forget(self) -> None:
        self.readers.clear()

    def _answer(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes] | None:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_AUTHORIZATION"):
            return None
        assert self.pattern is not None
        match = self.pattern.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or not environ.get("HTTP_COOKIE"):
            return None
        cookie = parse_cookie(environ).get(self.app.config["SESSION_COOKIE_NAME"])
        reader = self.readers.get(cookie) if cookie else None
        if reader is None or self.clock() - reader.checked_at > self._recheck_seconds():
            return None
        version_key, page, z, x, y = match.group(1), *map(int, match.groups()[1:])
        access = plan_tiles.cached_tile_access(self.app, version_key)
        if access is None or not access.allows(reader, page):
            return None
        etag = f"{version_key}-{page}-{z}-{x}-{y}"
        secure = environ.get("wsgi.url_scheme") == "https"
        common = [*security.response_headers(secure, security.content_security_policy(self.app)), ("Vary", "Cookie")]
        headers = [("ETag", f'"{etag}"'), ("Cache-Control", self.cache_control), *common]
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(etag):
            return "304 NOT MODIFIED", headers, b""
        store, key = self.app.extensions["floorplans.storage"], objects.tile_key(version_key, page, z, x, y)
        lifetime = tile_links.redirect_lifetime(self.app.config)
        signed = store.signed_url(key, expires_in=lifetime) if lifetime else None
        if signed:
            return "302 FOUND", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "0"),
                                 ("Location", signed), ("Cache-Control", tile_links.redirect_cache_control(lifetime)),
                                 *common], b""
        try:
            data = store.get(key)
        except FileNotFoundError:
            return None
        return "200 OK", [("Content-Type", "image/webp"), ("Content-Length", str(len(data))), *headers], data

    def _recheck_seconds(self) -> float:
        return float(self.app.config.get("TILE_SESSION_RECHECK_SECONDS", DEFAULT_RECHECK_SECONDS))


def install(app: Flask) -> None:
    """Put the (inert) gate in front of the app; ``security.init_app`` calls this before
    the proxy settings wrap the app, so the gate sees the scheme the proxy reported."""
    gate = TileGate(app, app.wsgi_app)
    app.extensions[EXTENSION] = gate
    app.wsgi_app = gate  # type: ignore[method-assign]


def open_for(app: Flask, prefix: str, *, cache_control: str) -> None:
    """Let the gate answer ``<prefix><version key>/<page>/<z>/<x>/<y>.webp`` (the tile
    route's URL) with the route's Cache-Control."""
    gate: TileGate | None = app.extensions.get(EXTENSION)
    if gate is None:
        return
    numbers = r"/([0-9]{1,6})/([0-9]{1,3})/([0-9]{1,9})/([0-9]{1,9})\.webp"
    gate.pattern = re.compile(re.escape(prefix) + r"([A-Za-z0-9_-]+)" + numbers)
    gate.cache_control = cache_control


def remember(user: User) -> None:
    """Called by the tile route after the full path let ``user`` read a tile: the same
    session cookie may read tiles through the gate for the next few seconds."""
    gate: TileGate | None = current_app.extensions.get(EXTENSION)
    if gate is None or g.get("auth_channel") == "token" or request.authorization is not None:
        return
    cookie = request.cookies.get(current_app.config["SESSION_COOKIE_NAME"])
    if not cookie:
        return
    if len(gate.readers) >= _MAX_REMEMBERED:
        gate.readers.clear()  # simple bound: each live session refills with one full request
    gate.readers[cookie] = TileReader(role=user.role, organisation_id=user.organisation_id, checked_at=gate.clock())


def _forget_in_this_process() -> None:
    if has_app_context():
        gate: TileGate | None = current_app.extensions.get(EXTENSION)
        if gate is not None:
            gate.forget()


# A login ended or an account changed in this process: forget at once rather than after the
# recheck interval (other processes still take up to that long).
_ACCOUNT_FIELDS = ("active", "role", "organisation_id")


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, context: UOWTransaction) -> None:
    if any(isinstance(obj, LoginSession) for obj in session.deleted) or any(
        isinstance(obj, User) and _changed(obj) for obj in session.dirty
    ):
        _forget_in_this_process()


@event.listens_for(Session, "do_orm_execute")
def _bulk_delete(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (state.is_delete or state.is_update) and mapper is not None and mapper.class_ in (LoginSession, User):
        _forget_in_this_process()


def _changed(user: User) -> bool:
    from sqlalchemy import inspect

    state: Any = inspect(user)
    return any(state.attrs[name].history.has_changes() for name in _ACCOUNT_FIELDS)
