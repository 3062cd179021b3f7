"""Configuration: defaults, then ``FLOORPLANS_*`` environment variables, then the test mapping,
read once into one typed, checked ``Settings`` object that the code reads (``get_settings()``).

Nothing here runs at import time; ``load_config`` is called by ``create_app``.
Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

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
    # E-mailed links (services.account_links): how long an invitation and a password reset work.
    "INVITATION_HOURS": 72,
    "PASSWORD_RESET_MINUTES": 60,
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
    # Agency sign-in (OpenID Connect; docs/identity.md): off while OIDC_ISSUER is unset.
    "OIDC_ISSUER": None,  # the provider's issuer URL, e.g. https://login.microsoftonline.com/<tenant>/v2.0
    "OIDC_CLIENT_ID": None,
    "OIDC_CLIENT_SECRET": None,
    "OIDC_SCOPES": ["openid", "email", "profile"],
    "OIDC_GROUPS_CLAIM": "groups",  # the ID token claim that lists the person's groups (or app roles)
    # The provider's groups that give each staff role (someone in several gets the highest).
    "OIDC_GROUPS_OFFICER": [],
    "OIDC_GROUPS_PLANNER": [],
    "OIDC_GROUPS_ADMIN": [],
    # The provider's second factor, required: the ID token's amr must hold one of these, its
    # acr be one of these; either set, it replaces the local TOTP code for agency sign-ins.
    "OIDC_REQUIRED_AMR": [],
    "OIDC_REQUIRED_ACR": [],
    "OIDC_AGENCY_NAME": "your agency account",  # the sign-in button: "Sign in with <name>"
    "OIDC_STAFF_LOCAL_PASSWORDS": False,  # officers, planners, admins may still use local passwords
    "OIDC_CLOCK_SKEW_SECONDS": 60,
    "OIDC_TIMEOUT_SECONDS": 10,
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
    apply_settings(app)


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
    """Generate the secret key once and keep it, so sessions survive a restart.  The web
    workers of a first start all come here at once: the key is written whole under another
    name and then linked into place, so no worker reads a half-written (empty) key, and
    every worker keeps the one that got there first."""
    if not path.exists():
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # 0600
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):  # another worker's key is in place
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    keep_private(path)
    return path.read_text().strip()


def _sqlalchemy_url(url: str) -> str:
    """Accept the plain ``postgresql://`` URLs operators have, and use psycopg 3 for them."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


# --- the typed settings -------------------------------------------------------------------

class SettingError(RuntimeError):
    """A setting with a value the application cannot run with; raised by ``create_app``
    (a RuntimeError, so a wrong value stops the app at start)."""


@dataclass(frozen=True)
class _Rule:
    """How one setting is read: its kind, whether it may be unset, and its bounds."""

    kind: str  # "whole", "number", "flag", "text", "names", "networks", "zone"
    optional: bool = False
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    group: str = ""  # named in the message ("A quota setting is wrong: ...")


def _rule(kind: str, *, secret: bool = False, **bounds: Any) -> Any:
    return field(repr=not secret, metadata={"rule": _Rule(kind, **bounds)})


@dataclass(frozen=True)
class Settings:
    """Every setting the application reads, typed and checked once by ``load_config``.

    Each field is the ``app.config`` key in lower case (``UPLOAD_MAX_MB`` is
    ``upload_max_mb``); docs/configuration.md documents each of them.  ``app.config``
    stays the source (Flask and its extensions read it); code reads this object through
    ``get_settings()``, or is handed it (jobs, the command line)."""

    # Where things are kept
    database_url: str = _rule("text")
    storage_url: str = _rule("text")
    s3_endpoint_url: str | None = _rule("text", optional=True)
    redis_url: str | None = _rule("text", optional=True)
    secret_key: str = _rule("text", secret=True)
    secret_key_fallbacks: tuple[str, ...] = _rule("names", secret=True)
    # The service
    timezone: str = _rule("zone")
    service_name: str = _rule("text")
    base_url: str | None = _rule("text", optional=True)
    stale_after_days: int = _rule("whole", at_least=1)
    remind_before_days: int = _rule("whole", at_least=0)
    draft_remind_after_days: int = _rule("whole", at_least=1)
    reminders_hour_utc: int = _rule("whole", at_least=0, at_most=23)
    # Outgoing mail
    smtp_host: str | None = _rule("text", optional=True)
    smtp_port: int = _rule("whole", at_least=1, at_most=65535)
    smtp_username: str | None = _rule("text", optional=True)
    smtp_password: str | None = _rule("text", optional=True, secret=True)
    smtp_starttls: bool = _rule("flag")
    smtp_timeout_seconds: float = _rule("number", above=0)
    mail_from: str = _rule("text")
    invitation_hours: float = _rule("number", above=0)
    password_reset_minutes: float = _rule("number", above=0)
    # Sessions and signing in (the policies themselves: floorplans.auth)
    session_idle_minutes: float = _rule("number", at_least=0)
    session_max_hours: float = _rule("number", above=0)
    session_idle_minutes_admin: float | None = _rule("number", optional=True, at_least=0)
    session_idle_minutes_partner: float | None = _rule("number", optional=True, at_least=0)
    session_idle_minutes_officer: float | None = _rule("number", optional=True, at_least=0)
    session_idle_minutes_planner: float | None = _rule("number", optional=True, at_least=0)
    session_in_car_networks: tuple[IPNetwork, ...] = _rule("networks")
    session_idle_minutes_in_car: float = _rule("number", at_least=0)
    session_cookie_name: str = _rule("text")
    session_cookie_secure: bool = _rule("flag")
    login_max_failures: int = _rule("whole", at_least=1)
    login_failure_window_minutes: float = _rule("number", above=0)
    login_lock_minutes: float = _rule("number", above=0)
    login_address_max_failures: int = _rule("whole", at_least=1)
    login_account_max_failures_per_hour: int = _rule("whole", at_least=1)
    login_known_device_days: float = _rule("number", at_least=0)
    login_code_minutes: float = _rule("number", above=0)
    two_factor_required_roles: tuple[str, ...] = _rule("names")
    # Agency sign-in (OpenID Connect; floorplans.services.identity checks them together)
    oidc_issuer: str | None = _rule("text", optional=True)
    oidc_client_id: str | None = _rule("text", optional=True)
    oidc_client_secret: str | None = _rule("text", optional=True, secret=True)
    oidc_scopes: tuple[str, ...] = _rule("names")
    oidc_groups_claim: str = _rule("text")
    oidc_groups_officer: tuple[str, ...] = _rule("names")
    oidc_groups_planner: tuple[str, ...] = _rule("names")
    oidc_groups_admin: tuple[str, ...] = _rule("names")
    oidc_required_amr: tuple[str, ...] = _rule("names")
    oidc_required_acr: tuple[str, ...] = _rule("names")
    oidc_agency_name: str = _rule("text")
    oidc_staff_local_passwords: bool = _rule("flag")
    oidc_clock_skew_seconds: int = _rule("whole", at_least=0, at_most=600)
    oidc_timeout_seconds: float = _rule("number", above=0)
    audit_retention_days: int = _rule("whole", at_least=1)
    # Reverse proxy hops to trust
    proxy_x_for: int = _rule("whole", at_least=0)
    proxy_x_proto: int = _rule("whole", at_least=0)
    proxy_x_host: int = _rule("whole", at_least=0)
    proxy_x_prefix: int = _rule("whole", at_least=0)
    # Bounded input
    max_content_length: int = _rule("whole", at_least=1)
    body_max_kb: int = _rule("whole", at_least=1)
    url_max_chars: int = _rule("whole", at_least=1)
    json_max_depth: int = _rule("whole", at_least=1)
    # Plans: uploads and rendering
    upload_max_mb: int = _rule("whole", at_least=1)
    upload_max_pages: int = _rule("whole", at_least=1)
    page_max_pixels: int = _rule("whole", at_least=1)
    render_dpi: float = _rule("number", above=0)
    render_workers: int = _rule("whole", at_least=1)
    render_page_seconds: float = _rule("number", above=0)
    render_memory_mb: int = _rule("whole", at_least=1)
    render_nice: int = _rule("whole", at_least=0, at_most=19)
    plan_grace_days: float = _rule("number", at_least=0)
    # Tiles
    tile_url_secret: str | None = _rule("text", optional=True, secret=True)
    tile_url_base: str = _rule("text")
    tile_url_lifetime_seconds: int = _rule("whole", at_least=1)
    tile_redirect_seconds: int = _rule("whole", at_least=0)
    tile_session_recheck_seconds: float = _rule("number", at_least=0)
    # Jobs
    jobs_name: str = _rule("text")
    jobs_immediate: bool = _rule("flag")
    jobs_workers: int = _rule("whole", at_least=1)
    # Quotas (floorplans/services/quotas.py)
    uploads_per_hour: int = _rule("whole", at_least=1, group="quota")
    packets_per_minute: int = _rule("whole", at_least=1, group="quota")
    packets_at_once: int = _rule("whole", at_least=1, group="quota")
    # The in-car offline copies
    offline_max_days: float = _rule("number", above=0, at_most=365)

    @property
    def zone(self) -> ZoneInfo:
        """The service's time zone (gathering times are local to it)."""
        return ZoneInfo(self.timezone)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The key that seals first, then the fallbacks that only open."""
        return (self.secret_key, *self.secret_key_fallbacks)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Read and check every setting; a key the mapping lacks takes its default.
        Raises ``SettingError`` naming the first wrong setting."""
        values = {}
        for item in fields(cls):
            key = item.name.upper()
            values[item.name] = _read(key, config.get(key, DEFAULTS.get(key)), item.metadata["rule"])
        return cls(**values)


_EXPECTED = {
    "whole": "a whole number", "number": "a number", "flag": "true or false", "text": "text",
    "names": "a list of names (or one comma-separated text)", "networks": "a list of networks such as 10.20.0.0/16",
    "zone": "a time zone name such as America/Toronto",
}  # fmt: skip
_FLAGS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _read(key: str, value: Any, rule: _Rule) -> Any:
    """One setting's value as its field's type, or ``SettingError`` saying what to set."""
    if rule.optional and (value is None or value == ""):
        return None
    try:
        typed = _CONVERT[rule.kind](value)
    except (TypeError, ValueError, KeyError, ZoneInfoNotFoundError):
        raise _wrong(key, value, rule, _EXPECTED[rule.kind]) from None
    if rule.at_least is not None and typed < rule.at_least:
        raise _wrong(key, value, rule, f"{_EXPECTED[rule.kind]} of at least {rule.at_least:g}")
    if rule.above is not None and typed <= rule.above:
        raise _wrong(key, value, rule, f"{_EXPECTED[rule.kind]} above {rule.above:g}")
    if rule.at_most is not None and typed > rule.at_most:
        raise _wrong(key, value, rule, f"{_EXPECTED[rule.kind]} of at most {rule.at_most:g}")
    return typed


def _wrong(key: str, value: Any, rule: _Rule, expected: str) -> SettingError:
    group = f"{rule.group} " if rule.group else ""
    return SettingError(f"A {group}setting is wrong: {key} must be {expected}, not {value!r} "
                        f"(set FLOORPLANS_{key} in the environment, or leave it unset for the default).")


def _whole(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise TypeError(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return int(value)  # ints, integral floats and "60" (a value typed into a mapping as text)


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise TypeError(value)
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(value)
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return _FLAGS[str(value).strip().lower()]


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool | list | tuple | dict):
        raise TypeError(value)
    return str(value)


def _names(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return tuple(str(item).strip() for item in items if str(item).strip())


def _networks(value: Any) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in _names(value))


def _zone(value: Any) -> str:
    ZoneInfo(_text(value))
    return str(value)


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "whole": _whole, "number": _number, "flag": _flag, "text": _text, "names": _names, "networks": _networks,
    "zone": _zone,
}  # fmt: skip


def apply_settings(app: Flask) -> Settings:
    """Build the typed settings from ``app.config`` and keep them in ``app.extensions``.
    ``load_config`` calls it; a test that changes ``app.config`` after ``create_app`` calls
    it again (nothing else changes settings while the app runs)."""
    settings = Settings.from_config(app.config)
    app.extensions["floorplans.settings"] = settings
    return settings


def get_settings(app: Flask | None = None) -> Settings:
    """The settings of ``app``, or of the current app."""
    settings: Settings = (app or current_app).extensions["floorplans.settings"]
    return settings
