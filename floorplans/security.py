"""What every response and every deployment gets: a strict Content-Security-Policy (no
inline script, nothing from other hosts), no framing, no sniffing, no caching of records;
the session cookie Secure whenever the request came over HTTPS; the client address and
scheme from a trusted reverse proxy (ProxyFix, only when configured); and the
``flask audit prune`` command.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from typing import Any

import click
from flask import Flask, Response, current_app, has_request_context, request
from flask.cli import AppGroup
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

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
PROXY_DEFAULTS: dict[str, Any] = {"PROXY_X_FOR": 0, "PROXY_X_PROTO": 0, "PROXY_X_HOST": 0, "PROXY_X_PREFIX": 0}


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
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
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


audit_commands = AppGroup("audit", help="The audit log.")


@audit_commands.command("prune")
@click.option("--days", type=int, default=None, help="Days to keep (default: FLOORPLANS_AUDIT_RETENTION_DAYS, 365).")
def prune_command(days: int | None) -> None:
    """Delete audit and access-log events older than the retention period (run it daily)."""
    from floorplans.db import db
    from floorplans.services import audit

    retention = days if days is not None else int(current_app.config["AUDIT_RETENTION_DAYS"])
    try:
        pruned = audit.prune(retention)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    db.session.commit()
    click.echo(
        f"Deleted {pruned.audit_events} audit event(s) and {pruned.access_events} access-log event(s) "
        f"from before {pruned.before:%Y-%m-%d %H:%M} UTC."
    )


def init_app(app: Flask) -> None:
    for name, value in PROXY_DEFAULTS.items():
        app.config.setdefault(name, value)
    hops = {key: int(app.config[f"PROXY_{key.upper()}"]) for key in ("x_for", "x_proto", "x_host", "x_prefix")}
    if any(hops.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **hops)  # type: ignore[method-assign]
    app.session_interface = SessionInterface()
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)  # Flask-Login's; unused, kept safe anyway
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.after_request(add_security_headers)
    app.cli.add_command(audit_commands)
