"""The typed settings (floorplans.config.Settings): every setting read once by create_app,
each of its declared type, a wrong value refused at start naming it, each documented."""

from __future__ import annotations

import dataclasses
import ipaddress
import multiprocessing
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from floorplans import create_app
from floorplans.config import SettingError, Settings, apply_settings, get_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def is_of(value: Any, annotation: Any) -> bool:
    """``isinstance`` for the field annotations Settings uses (``X | None``, ``tuple[X, ...]``)."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        return any(is_of(value, option) for option in typing.get_args(annotation))
    if origin is tuple:
        (item, _) = typing.get_args(annotation)
        return isinstance(value, tuple) and all(is_of(v, item) for v in value)
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, float)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def test_every_setting_has_its_declared_type(app: Flask) -> None:
    settings = get_settings(app)
    hints = typing.get_type_hints(Settings)
    wrong = {f.name: getattr(settings, f.name) for f in dataclasses.fields(Settings)
             if not is_of(getattr(settings, f.name), hints[f.name])}
    assert wrong == {}


def test_values_typed_as_text_are_read_as_their_type(app_config: dict[str, Any]) -> None:
    """What an operator or a test mapping writes as text (an environment variable that is not
    JSON) becomes the number, flag or list the code works with."""
    settings = get_settings(create_app({
        **app_config, "UPLOAD_MAX_MB": "50", "RENDER_DPI": "300", "SMTP_STARTTLS": "yes", "SMTP_PORT": 587.0,
        "SESSION_IN_CAR_NETWORKS": "10.20.0.0/16, 2001:db8::/32", "TWO_FACTOR_REQUIRED_ROLES": "admin, officer",
        "SESSION_IDLE_MINUTES_OFFICER": "", "BASE_URL": "",
    }))
    assert settings.upload_max_mb == 50 and settings.render_dpi == 300.0 and settings.smtp_starttls is True
    assert settings.smtp_port == 587 and isinstance(settings.smtp_port, int)
    assert settings.session_in_car_networks == (ipaddress.ip_network("10.20.0.0/16"),
                                                ipaddress.ip_network("2001:db8::/32"))
    assert settings.two_factor_required_roles == ("admin", "officer")
    assert settings.session_idle_minutes_officer is None and settings.base_url is None  # empty = unset


def test_environment_variables_reach_the_settings(app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOORPLANS_UPLOAD_MAX_PAGES", "12")
    monkeypatch.setenv("FLOORPLANS_SMTP_STARTTLS", "true")
    monkeypatch.setenv("FLOORPLANS_TIMEZONE", "America/Vancouver")
    settings = get_settings(create_app(app_config))
    assert (settings.upload_max_pages, settings.smtp_starttls, settings.timezone) == (12, True, "America/Vancouver")
    assert str(settings.zone) == "America/Vancouver"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("UPLOAD_MAX_MB", "lots", "a whole number"),
        ("UPLOAD_MAX_PAGES", 2.5, "a whole number"),
        ("JOBS_WORKERS", True, "a whole number"),
        ("RENDER_DPI", 0, "a number above 0"),
        ("REMINDERS_HOUR_UTC", 24, "a whole number of at most 23"),
        ("RENDER_NICE", -1, "a whole number of at least 0"),
        ("SMTP_STARTTLS", "maybe", "true or false"),
        ("TIMEZONE", "Mars/Olympus_Mons", "a time zone name such as America/Toronto"),
        ("SESSION_IN_CAR_NETWORKS", ["10.20.0.0/99"], "a list of networks such as 10.20.0.0/16"),
        ("SERVICE_NAME", ["a", "list"], "text"),
        ("STALE_AFTER_DAYS", None, "a whole number"),
    ],
)
def test_a_wrong_value_stops_the_app_naming_the_setting(
    app_config: dict[str, Any], name: str, value: Any, expected: str
) -> None:
    with pytest.raises(SettingError) as refused:
        create_app({**app_config, name: value})
    message = str(refused.value)
    assert f"{name} must be {expected}, not {value!r}" in message
    assert f"FLOORPLANS_{name}" in message  # where an operator sets it


def test_a_wrong_setting_is_a_runtime_error_like_the_others(app_config: dict[str, Any]) -> None:
    """create_app has always stopped with a RuntimeError for a wrong setting (tests and the
    process manager's logs rely on it)."""
    with pytest.raises(RuntimeError, match="A quota setting is wrong: PACKETS_AT_ONCE"):
        create_app({**app_config, "PACKETS_AT_ONCE": 0})


def test_every_setting_is_documented() -> None:
    documented = DOCS.read_text()
    missing = [f.name.upper() for f in dataclasses.fields(Settings) if f"`{f.name.upper()}`" not in documented]
    assert missing == []


def test_secrets_stay_out_of_the_settings_repr(app_config: dict[str, Any]) -> None:
    settings = get_settings(create_app({**app_config, "SMTP_PASSWORD": "smtp-pass-123",
                                        "TILE_URL_SECRET": "tile-secret-456", "SECRET_KEY_FALLBACKS": ["old-key-789"]}))
    shown = repr(settings)
    assert "test-secret-key" not in shown and "smtp-pass-123" not in shown
    assert "tile-secret-456" not in shown and "old-key-789" not in shown
    assert settings.secret_keys == ("test-secret-key", "old-key-789")  # the sealing key first


def test_settings_change_only_when_read_again(app: Flask) -> None:
    settings = get_settings(app)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.upload_max_mb = 1  # type: ignore[misc]
    app.config["UPLOAD_MAX_MB"] = 7
    assert get_settings(app).upload_max_mb == settings.upload_max_mb  # read once, at create_app
    assert apply_settings(app).upload_max_mb == 7 and get_settings(app).upload_max_mb == 7
    app.config["UPLOAD_MAX_MB"] = "seven"
    with pytest.raises(SettingError, match="UPLOAD_MAX_MB"):
        apply_settings(app)
    assert get_settings(app).upload_max_mb == 7  # a refused value leaves the settings as they were


def test_a_missing_key_takes_its_default(app: Flask) -> None:
    config = {key: value for key, value in app.config.items() if key != "PLAN_GRACE_DAYS"}
    assert Settings.from_config(config).plan_grace_days == 7.0


def _secret_after(start: Any, path: Path, keys: Any) -> None:
    from floorplans.config import _instance_secret

    start.wait()
    try:
        keys.put(_instance_secret(path))
    except Exception as error:  # noqa: BLE001  # the test names what a worker met
        keys.put(repr(error))


@pytest.mark.slow  # starts processes by the hundred
def test_workers_starting_at_once_share_one_whole_secret_key(tmp_path: Path) -> None:
    """gunicorn's workers of a first start each make the app at the same moment: each must
    get the same key, never an empty one (a worker that read the file between its creation
    and its writing had no key, and answered every page with a 500)."""
    context = multiprocessing.get_context("fork")
    for attempt in range(20):
        path = tmp_path / f"secret_key_{attempt}"
        start, keys = context.Barrier(6), context.Queue()
        workers = [context.Process(target=_secret_after, args=(start, path, keys)) for _ in range(6)]
        for worker in workers:
            worker.start()
        found = {keys.get(timeout=30) for _ in workers}
        for worker in workers:
            worker.join()
        assert len(found) == 1 and len(next(iter(found))) == 64, found
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret_key.")]
        assert path.stat().st_mode & 0o777 == 0o600
