"""Who acts and from where, declared for each request by the layer that receives it: the
audit log's ``Origin`` (floorplans.services.audit), so that services take it as given and
never read the request or Flask-Login for it (floorplans/services/__init__.py).

A request's origin is declared before anything else runs (the sign-in loaders themselves
record events, a rejected token), from its path (``/api/`` is the API, the rest the web) and
its client address (ProxyFix has applied the trusted proxy hops by then); its acting user is
declared each time Flask-Login sets one: loaded from the session or a token, signed in,
signed out.  The command line and jobs are origins of their own (``audit.current_origin``).

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_login import LoginManager

from floorplans.models import User
from floorplans.services import audit


def request_origin() -> audit.Origin:
    """The origin of the current request, before anyone is signed in."""
    return audit.Origin("api" if request.path.startswith("/api/") else "web", request.remote_addr or "")


class ActingLoginManager(LoginManager):
    """Flask-Login's manager, declaring the request's acting user wherever Flask-Login sets
    it: ``_update_request_context_with_user`` is the one method its session and token loaders,
    ``login_user`` and ``logout_user`` all go through."""

    def _update_request_context_with_user(self, user: Any = None) -> None:
        super()._update_request_context_with_user(user)
        if "floorplans_origin" in g:  # a dispatched request (not a bare test_request_context)
            audit.declare(audit.current_origin().acted_by(user if isinstance(user, User) else None))


def _begin() -> None:
    g.floorplans_origin = audit.declare(request_origin())


def _end(_error: BaseException | None) -> None:
    # Threads serve one request after another: what a request declared ends with it.
    token = g.pop("floorplans_origin", None)
    if token is not None:
        audit.undeclare(token)


def init_app(app: Flask) -> None:
    # First of the request's hooks: bounds' checks and the permission check come after it.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.teardown_request(_end)
