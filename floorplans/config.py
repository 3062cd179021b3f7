"""Configuration: defaults, then ``FLOORPLANS_*`` environment variables, then the test mapping.

Nothing here runs at import time; ``load_config`` is called by ``create_app``.
Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

#: Every setting the application reads, with its embedded default.  Paths and URLs
#: that depend on the instance folder are filled in by ``load_config``.
DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # default: sqlite:///<instance>/floorplans.sqlite3
    "STORAGE_URL": None,  # default: <instance>/storage (local folder)
    "S3_ENDPOINT_URL": None,  # optional; boto3's own AWS_ENDPOINT_URL works too
    "REDIS_URL": None,  # when set, jobs use Redis instead of the SQLite queue
    "TIMEZONE": "America/Toronto",
    "SERVICE_NAME": "floorplans",
    "STALE_AFTER_DAYS": 180,
    # Partners are reminded (portal banner, e-mail) this many days before a record goes stale.
    "REMIND_BEFORE_DAYS": 14,
    "DRAFT_REMIND_AFTER_DAYS": 7,  # a rendered plan not reviewed and published for this long is reminded
    # The daily reminder job's hour (UTC; 13:00 is morning across North America).
    "REMINDERS_HOUR_UTC": 13,
    # Where the service is reached, for links in e-mails (no request to take it from there),
    # e.g. https://floorplans.police.example; unset = mails name the page without a link.
    "BASE_URL": None,
    # Outgoing mail: reminders are e-mailed only when SMTP_HOST is set (stdlib smtplib).
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": False,  # STARTTLS before logging in (port 587 servers)
    "SMTP_TIMEOUT_SECONDS": 30,
    "MAIL_FROM": "floorplans@localhost",
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    # Idle limit per role, e.g. SESSION_IDLE_MINUTES_OFFICER=60; unset = SESSION_IDLE_MINUTES;
    # 0 = no idle limit (the absolute limit still ends the login).
    "SESSION_IDLE_MINUTES_ADMIN": None,
    "SESSION_IDLE_MINUTES_PARTNER": None,
    "SESSION_IDLE_MINUTES_OFFICER": None,
    "SESSION_IDLE_MINUTES_PLANNER": None,
    # The CJIS in-car exemption: officers whose login came from these networks (the in-car
    # VPN pool) get SESSION_IDLE_MINUTES_IN_CAR instead (0 = no idle lock). See docs/security.md.
    "SESSION_IN_CAR_NETWORKS": [],
    "SESSION_IDLE_MINUTES_IN_CAR": 0,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_FAILURE_WINDOW_MINUTES": 15,
    "LOGIN_LOCK_MINUTES": 15,
    "LOGIN_ADDRESS_MAX_FAILURES": 30,
    # Failures on one account from all the devices it never signed in on, per hour (ASVS 2.2.1);
    # a browser it signed in on stays "known" (a signed cookie) this many days.
    "LOGIN_ACCOUNT_MAX_FAILURES_PER_HOUR": 100,
    "LOGIN_KNOWN_DEVICE_DAYS": 90,
    "LOGIN_CODE_MINUTES": 5,  # time to type the TOTP code after the password
    # Roles that must sign in with two-factor (TOTP): sent to enrol right after signing in.
    "TWO_FACTOR_REQUIRED_ROLES": ["admin"],
    "AUDIT_RETENTION_DAYS": 365,
    # Proxy hops to trust for X-Forwarded-For/-Proto/-Host/-Prefix (0 = none; see docs/security.md).
    "PROXY_X_FOR": 0,
    "PROXY_X_PROTO": 0,
    "PROXY_X_HOST": 0,
    "PROXY_X_PREFIX": 0,
    "MAX_CONTENT_LENGTH": 110 * 1024 * 1024,  # a little over the PDF upload limit (multipart only)
    # Bounded input (floorplans/bounds.py, docs/security.md): any other body (JSON, a form),
    # the URL (path and query string), and how deeply a JSON body may nest.
    "BODY_MAX_KB": 256,
    "URL_MAX_CHARS": 8192,
    "JSON_MAX_DEPTH": 32,
    "UPLOAD_MAX_MB": 100,
    "UPLOAD_MAX_PAGES": 60,
    "PAGE_MAX_PIXELS": 100_000_000,  # pixel budget of one page at full zoom
    "RENDER_DPI": 288,  # vector sheets; scans keep their own resolution
    "RENDER_WORKERS": 2,
    "RENDER_PAGE_SECONDS": 120,  # wall-clock limit per page
    "RENDER_MEMORY_MB": 1024,  # address-space cap per render process
    # Render processes' scheduling priority (0-19; higher = lower priority): below the web's.
    "RENDER_NICE": 10,
    "PLAN_GRACE_DAYS": 7,
    # A tile front (nginx secure_link) serving tiles without the app: with a secret set, tile
    # URLs are signed, short-lived and point at TILE_URL_BASE (floorplans/tile_links.py).
    "TILE_URL_SECRET": None,
    "TILE_URL_BASE": "/t",  # a path on the same host keeps the Content-Security-Policy as it is
    "TILE_URL_LIFETIME_SECONDS": 3600,  # superseded versions keep their tiles this long
    # With an S3-compatible store: the tile route answers 302 to a presigned GET of this many
    # seconds after its access check, so the bytes come from S3, not the app (0: off).
    "TILE_REDIRECT_SECONDS": 0,
    # Plan tiles only: how long a web process reuses a login session's answer (floorplans.tile_gate).
    "TILE_SESSION_RECHECK_SECONDS": 5,
    "JOBS_NAME": "floorplans",  # the queue's name (several deployments can share one Redis)
    "JOBS_IMMEDIATE": False,  # run jobs inline (tests, scripts); make run starts a consumer
    # Jobs one `flask jobs worker` runs at once: two, so one long render never holds them all
    # (docs/operations.md, "Job consumers").
    "JOBS_WORKERS": 2,
    # Quotas (floorplans/services/quotas.py, docs/security.md): counted in the database, so
    # shared by every web process; over them a 429 with Retry-After.
    "UPLOADS_PER_HOUR": 20,  # plan uploads per congregation (per account for administrators)
    "PACKETS_PER_MINUTE": 3,  # print packets per account
    "PACKETS_AT_ONCE": 1,  # print packets one web process prepares at the same time (~20 s of CPU each)
    # Offline copies in the in-car browser (static/js/sw.js) are deleted unopened after this many days.
    "OFFLINE_MAX_DAYS": 7,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # set FLOORPLANS_SESSION_COOKIE_SECURE=true behind HTTPS
    "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead: an officer's form may sit open for hours
    "JSON_SORT_KEYS": False,
}


def load_config(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill ``app.config``: defaults, then the environment, then ``test_config``."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("FLOORPLANS")
    if test_config is not None:
        app.config.from_mapping(test_config)

    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    keep_private(instance)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'floorplans.sqlite3'}"
    if not app.config.get("STORAGE_URL"):
        app.config["STORAGE_URL"] = str(instance / "storage")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    app.config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(app.config["DATABASE_URL"])


def keep_private(path: Path) -> None:
    """Only this account may read what the instance folder holds (password hashes, sealed
    TOTP keys, contacts' numbers, the secret key): the folder 0700, each file 0600.  A file
    that does not exist yet is created empty with that mode, so that SQLite (whose journal
    files copy the database file's mode) never makes it world-readable first."""
    if path.is_dir():
        wanted = 0o700
    else:
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        wanted = 0o600
    if path.stat().st_mode & 0o777 != wanted and path.stat().st_uid == os.getuid():
        path.chmod(wanted)


def _instance_secret(path: Path) -> str:
    """Generate the secret key once and keep it, so sessions survive a restart."""
    if path.exists():
        keep_private(path)
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _sqlalchemy_url(url: str) -> str:
    """Accept the plain ``postgresql://`` URLs operators have, and use psycopg 3 for them."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url
