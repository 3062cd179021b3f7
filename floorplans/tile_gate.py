"""The lean path for tile GETs: most requests an officer's browser sends are plan tiles, and
the full Flask path (session cookie, Flask-Login's user load, the login session's database
row, the version lookup, the after-request hooks) costs about a millisecond of CPU each.

The gate is a WSGI layer in front of Flask that answers a tile GET by itself only when the
full path has just answered the same question: the tile route, once it has let a login
session read a tile, tells the gate (``remember``) what that session may read (role and
congregation), keyed by the signed session cookie exactly as the browser sent it.  For
``TILE_SESSION_RECHECK_SECONDS`` (5) the gate then serves that cookie's tile GETs at the
tile route's paths (floorplans.tile_urls) by the same rule (``plan_tiles.may_read_tile``,
from the version's access answer the tile route keeps in this process) and with the same
answer (``tile_responses.tile_answer``: the image, its 304, or a redirect to a presigned S3
URL), plus the headers Flask would have added (security.response_headers, Vary).  Anything
else goes through the full path untouched and gets its usual answer: no cookie, a cookie the gate has
not seen or saw too long ago, an API token, another congregation's plan, an unknown version,
a missing tile, HEAD, odd URLs.

So an ended login (logout, password change, disabled account, idle or absolute limit) stops
getting tiles from a process within those seconds (at once in the process where it ended:
that process forgets everything it remembered).  docs/security.md states the figure.

The gate is installed by ``init_app`` before ``security.init_app`` (whose proxy settings
wrap it, so it sees the scheme the proxy reported).  It never writes to the database, so it
needs no commit.  Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g, has_app_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from werkzeug.http import parse_cookie

from floorplans import security, tile_responses, tile_urls
from floorplans.config import get_settings
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
    """WSGI middleware in front of the app; answers only what the tile route let in lately."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.pattern = tile_urls.gate_pattern()
        self.readers: dict[str, TileReader] = {}
        self.clock: Callable[[], float] = time.monotonic

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self._answer(environ)
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
        match = self.pattern.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or not environ.get("HTTP_COOKIE"):
            return None
        cookie = parse_cookie(environ).get(get_settings(self.app).session_cookie_name)
        reader = self.readers.get(cookie) if cookie else None
        if reader is None or self.clock() - reader.checked_at > self._recheck_seconds():
            return None
        version_key, page, z, x, y = match.group(1), *map(int, match.groups()[1:])
        if not plan_tiles.may_read_tile(self.app, reader, version_key, page, cached_only=True):
            return None
        answer = tile_responses.tile_answer(self.app, version_key, page, z, x, y,
                                            if_none_match=environ.get("HTTP_IF_NONE_MATCH"))
        if answer is None:
            return None  # not in the store: Flask's 404
        # What Flask's after_request hooks and its session add on the full path.
        secure = environ.get("wsgi.url_scheme") == "https"
        added = [*security.response_headers(secure, security.content_security_policy(self.app)), ("Vary", "Cookie")]
        return answer.status_line, [*answer.headers, *added], answer.body

    def _recheck_seconds(self) -> float:
        return get_settings(self.app).tile_session_recheck_seconds


def init_app(app: Flask) -> None:
    """Put the gate in front of the app; ``create_app`` calls this before
    ``security.init_app``, so the proxy settings wrap the gate and it sees the scheme the
    proxy reported."""
    gate = TileGate(app, app.wsgi_app)
    app.extensions[EXTENSION] = gate
    app.wsgi_app = gate  # type: ignore[method-assign]  # Flask's documented way to wrap it


def remember(user: User) -> None:
    """Called by the tile route after the full path let ``user`` read a tile: the same
    session cookie may read tiles through the gate for the next few seconds."""
    gate: TileGate | None = current_app.extensions.get(EXTENSION)
    if gate is None or g.get("auth_channel") == "token" or request.authorization is not None:
        return
    cookie = request.cookies.get(get_settings().session_cookie_name)
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
    state: Any = inspect(user)
    return any(state.attrs[name].history.has_changes() for name in _ACCOUNT_FIELDS)
