"""What every response and every deployment gets: a strict Content-Security-Policy (no
inline script, nothing from other hosts), no framing, no sniffing, no caching of records;
the session cookie Secure whenever the request came over HTTPS; the client address and
scheme from a trusted reverse proxy (ProxyFix, only when configured), in front of the tile
gate (floorplans.tile_gate, installed before this module's ``init_app``, which sends the same
headers and imports this module); and the ``flask audit prune`` command.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from flask import Flask, Response, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from floorplans import tile_links
from floorplans.config import get_settings

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

#: How many reverse proxies in front of the app set each X-Forwarded-* header.  0 (the
#: default) trusts none: a client could otherwise claim any address and dodge the login
#: limit, or claim HTTPS.  Behind one nginx or load balancer: PROXY_X_FOR=1, PROXY_X_PROTO=1.


_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"),
)
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def content_security_policy(app: Flask) -> str:
    """CSP, plus the object store's origin for images when tiles are redirected to presigned
    S3 URLs (TILE_REDIRECT_SECONDS; the service worker's fetch follows them: connect-src)."""
    policy: str = app.extensions.get("floorplans.csp", CSP)
    return policy


def response_headers(secure: bool, csp: str = CSP) -> list[tuple[str, str]]:
    """The headers every response carries (the tile gate, floorplans.tile_gate, sends the
    same ones without going through Flask)."""
    headers = [("Content-Security-Policy", csp), *_HEADERS]
    return [*headers, _HSTS] if secure else headers


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    for name, value in response_headers(request.is_secure, content_security_policy(current_app)):
        headers.setdefault(name, value)
    # Records carry private phone numbers: never keep them in a shared cache or the
    # browser's history cache.  Static files and tiles set their own long lifetimes.
    if "Cache-Control" not in headers and request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    return response


class SessionInterface(SecureCookieSessionInterface):
    """The signed session cookie, marked Secure on every HTTPS request even when
    SESSION_COOKIE_SECURE is left false (behind a proxy, with PROXY_X_PROTO set, the
    proxy's X-Forwarded-Proto decides), so the cookie never travels over plain HTTP once
    it was set over HTTPS.  HttpOnly and SameSite=Lax come from the settings."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return get_settings(app).session_cookie_secure or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    settings = get_settings(app)
    origin = tile_links.redirect_origin(settings, app.extensions["floorplans.storage"])
    if origin:
        app.extensions["floorplans.csp"] = CSP.replace("img-src 'self'", f"img-src 'self' {origin}").replace(
            "connect-src 'self'", f"connect-src 'self' {origin}")

    # ProxyFix wraps the tile gate (tile_gate.init_app ran first): the gate sees the scheme
    # the proxy reported.
    hops = {"x_for": settings.proxy_x_for, "x_proto": settings.proxy_x_proto, "x_host": settings.proxy_x_host,
            "x_prefix": settings.proxy_x_prefix}
    if any(hops.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **hops)  # type: ignore[method-assign]  # Flask's way to wrap it
    app.session_interface = SessionInterface()
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)  # Flask-Login's; unused, kept safe anyway
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.after_request(add_security_headers)
