"""The service worker's settings for offline copies (the browser test is
tests/blueprints/response/test_offline_wipe_browser.py): the age limit reaches the worker's
script, a wrong one stops the app, and /r/session tells a browser whether it is signed in."""

from __future__ import annotations

import pytest

from floorplans import create_app
from floorplans.models import Role


@pytest.fixture
def two_days(app_config):  # type: ignore[no-untyped-def]
    app_config["OFFLINE_MAX_DAYS"] = 2


def test_the_worker_is_told_the_age_limit_and_where_to_ask(two_days, app) -> None:  # type: ignore[no-untyped-def]
    script = app.test_client().get("/r/sw.js").get_data(as_text=True)
    assert "const OFFLINE_MAX_DAYS = 2;\n" in script
    assert 'const LOGIN_PATH = "/login";\n' in script and 'const SESSION_URL = "/r/session";\n' in script


def test_session_state_for_the_worker(app, make_user, browser_for) -> None:  # type: ignore[no-untyped-def]
    anonymous = app.test_client().get("/r/session")
    assert anonymous.status_code == 200 and anonymous.headers["Cache-Control"] == "no-store"
    assert anonymous.get_json() == {"signed_in": False, "login_url": "/login"}
    signed_in = browser_for(make_user(Role.OFFICER)).get("/r/session")
    assert signed_in.get_json() == {"signed_in": True, "login_url": "/login"}


def test_a_wrong_age_limit_stops_the_app(app_config) -> None:  # type: ignore[no-untyped-def]
    for wrong in (0, -1, 400, "a week", True):
        with pytest.raises(RuntimeError, match="OFFLINE_MAX_DAYS"):
            create_app({**app_config, "OFFLINE_MAX_DAYS": wrong})
    assert create_app({**app_config, "OFFLINE_MAX_DAYS": 0.5}).config["OFFLINE_MAX_DAYS"] == 0.5
