"""Sessions: idle limits per role, the in-car exemption, the absolute limit, cookie flags
over HTTP, HTTPS and behind a proxy, and cookies copied before they were revoked.

(Logout, a password change seen from another browser, disabling by the service layer and
the idle limit's default are in tests/blueprints/test_auth.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from floorplans import create_app
from floorplans.db import db
from floorplans.models import LoginSession, Role, User
from tests.conftest import PASSWORD, Browser


def signed_in(app, user: User, ip: str = "192.0.2.20") -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client())
    browser.get("/login", environ_base={"REMOTE_ADDR": ip})
    response = browser.post("/login", {"email": user.email, "password": PASSWORD}, environ_base={"REMOTE_ADDR": ip})
    assert response.status_code == 302
    return browser


def idle_for(user: User, **delta: float) -> None:
    """As if the browser had made no request for this long."""
    for login in db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)):
        login.last_seen_at -= dt.timedelta(**delta)
        login.created_at -= dt.timedelta(**delta)
    db.session.commit()


def is_in(browser: Browser, url: str = "/") -> bool:
    response = browser.get(url)
    return response.status_code != 302 or not response.headers["Location"].startswith("/login")


@pytest.fixture
def per_role(app_config) -> None:
    app_config.update(SESSION_IDLE_MINUTES_OFFICER=60, SESSION_IDLE_MINUTES_PLANNER=0)


def test_idle_limit_per_role(per_role, app, make_user) -> None:
    officer, planner, partner = make_user(Role.OFFICER), make_user(Role.PLANNER), make_user(Role.PARTNER)
    browsers = {user.role: signed_in(app, user) for user in (officer, planner, partner)}
    for user in (officer, planner, partner):
        idle_for(user, minutes=45)
    assert is_in(browsers["officer"])  # 60 minutes for officers
    assert is_in(browsers["planner"])  # 0: no idle limit
    assert not is_in(browsers["partner"])  # the default 30
    idle_for(planner, hours=11)
    assert is_in(browsers["planner"])
    idle_for(planner, hours=1, minutes=1)  # 12 hours after the login: the absolute limit
    assert not is_in(browsers["planner"])


def test_the_absolute_limit_ends_a_busy_login(app, make_user) -> None:
    officer = make_user(Role.OFFICER)
    browser = signed_in(app, officer)
    login = db.session.scalar(select(LoginSession).where(LoginSession.user_id == officer.id))
    login.created_at -= dt.timedelta(hours=12, minutes=1)  # used a minute ago, but started 12 h ago
    db.session.commit()
    assert not is_in(browser, "/r/")
    assert db.session.scalar(select(LoginSession).where(LoginSession.user_id == officer.id)) is None


@pytest.fixture
def in_car(app_config) -> None:
    app_config.update(SESSION_IN_CAR_NETWORKS=["10.20.0.0/16"], SESSION_IDLE_MINUTES_IN_CAR=0)


def test_in_car_exemption_applies_to_officers_on_the_in_car_network_only(in_car, app, make_user) -> None:
    car_officer, desk_officer = make_user(Role.OFFICER), make_user(Role.OFFICER)
    car_partner = make_user(Role.PARTNER)
    browsers = {
        "car officer": signed_in(app, car_officer, ip="10.20.3.4"),
        "desk officer": signed_in(app, desk_officer, ip="192.0.2.30"),
        "partner on that network": signed_in(app, car_partner, ip="10.20.3.5"),
    }
    for user in (car_officer, desk_officer, car_partner):
        idle_for(user, hours=3)
    # The car moves between cells: later requests come from other addresses, the exemption stays.
    assert browsers["car officer"].get("/r/", environ_base={"REMOTE_ADDR": "100.64.9.9"}).status_code == 200
    assert not is_in(browsers["desk officer"], "/r/")
    assert not is_in(browsers["partner on that network"])
    idle_for(car_officer, hours=9, minutes=1)
    assert not is_in(browsers["car officer"], "/r/")  # the 12-hour limit still holds


def test_the_idle_timer_advances_every_ten_seconds(app, make_user) -> None:
    """A request 15 s after the last one written moves the idle timer on; so 29 min 45 s of
    idling after it is still within the 30 minutes (with a write once a minute, that request
    would have been ignored and the login would end 15 s early)."""
    partner = make_user(Role.PARTNER)
    browser = signed_in(app, partner)
    login = db.session.scalar(select(LoginSession).where(LoginSession.user_id == partner.id))
    login.last_seen_at -= dt.timedelta(seconds=15)  # the last request written 15 s ago
    db.session.commit()
    assert is_in(browser, "/portal/")  # this one is written
    login.last_seen_at -= dt.timedelta(minutes=29, seconds=45)
    db.session.commit()
    assert is_in(browser, "/portal/")
    db.session.expire_all()
    seen = db.session.scalar(select(LoginSession.last_seen_at).where(LoginSession.user_id == partner.id))
    assert is_in(browser, "/portal/")  # a request within 10 s of the last write writes nothing
    db.session.expire_all()
    assert db.session.scalar(select(LoginSession.last_seen_at).where(LoginSession.user_id == partner.id)) == seen


@pytest.mark.parametrize(
    "setting", [{"SESSION_IDLE_MINUTES_OFFICER": -5}, {"SESSION_IN_CAR_NETWORKS": ["10.20.0.0/99"]},
                {"AUDIT_RETENTION_DAYS": 10}, {"LOGIN_MAX_FAILURES": 0}, {"LOGIN_ACCOUNT_MAX_FAILURES_PER_HOUR": 0},
                {"LOGIN_LOCK_MINUTES": 0}, {"TWO_FACTOR_REQUIRED_ROLES": ["superuser"]}],
)
def test_wrong_settings_stop_the_app(app_config, setting) -> None:
    with pytest.raises(RuntimeError):
        create_app({**app_config, **setting})


def cookie_header(response) -> str:  # type: ignore[no-untyped-def]
    (header,) = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]
    return header


def login_response(app, user: User, base_url: str = "http://localhost", headers=None) -> object:  # type: ignore[no-untyped-def]
    client = app.test_client()
    page = client.get("/login", base_url=base_url, headers=headers).get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    # Over HTTPS, Flask-WTF also wants a same-site Referer on every form post, as browsers send.
    scheme = "https" if (headers or {}).get("X-Forwarded-Proto") == "https" else base_url.split(":")[0]
    headers = {**(headers or {}), "Referer": scheme + ":" + base_url.split(":", 1)[1] + "/login"}
    return client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token},
                       base_url=base_url, headers=headers)


def test_cookie_flags_over_http_https_and_behind_a_proxy(app, app_config, make_user) -> None:
    user = make_user(Role.OFFICER)
    plain = cookie_header(login_response(app, user))
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    secure = login_response(app, user, base_url="https://floorplans.example")
    assert "Secure" in cookie_header(secure) and "HttpOnly" in cookie_header(secure)
    # Without a configured proxy, a client's X-Forwarded-Proto is not believed...
    forged = login_response(app, user, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in cookie_header(forged) and "Strict-Transport-Security" not in forged.headers
    # ...behind one, the proxy's header decides, and so does its X-Forwarded-For.
    proxied_app = create_app({**app_config, "PROXY_X_FOR": 1, "PROXY_X_PROTO": 1})
    with proxied_app.app_context():
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.50"}
        proxied = login_response(proxied_app, user, headers=forwarded)
        assert "Secure" in cookie_header(proxied)
        assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
        db.session.remove()
        db.engine.dispose()  # this second app's own connections
    db.session.expire_all()
    latest = db.session.scalars(select(LoginSession).order_by(LoginSession.id.desc())).first()
    assert latest.ip_address == "203.0.113.50"


def test_the_known_device_cookie_is_signed_httponly_and_only_for_the_sign_in_pages(app, make_user) -> None:
    user = make_user(Role.OFFICER)
    for base_url, secure in (("http://localhost", False), ("https://floorplans.example", True)):
        response = login_response(app, user, base_url=base_url)
        (header,) = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("known_device=")]
        assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/login" in header
        assert ("Secure" in header) is secure
        assert f"u\":[{user.id}]" not in header.split(";")[0] or "." in header.split(";")[0]  # signed, not bare


def test_a_cookie_copied_before_a_password_change_is_dead_after_it(app, browser_for, make_user) -> None:
    user = make_user(Role.PARTNER)
    browser = browser_for(user)
    stolen = browser.client.get_cookie("session").value
    new = "another long passphrase"
    response = browser.post(
        "/account/password", {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
    )
    assert response.status_code == 302
    assert browser.get("/portal/").status_code == 200  # the browser that changed it gets a new session
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/portal/").headers["Location"].startswith("/login")


def test_a_cookie_copied_before_an_admin_disables_or_resets_is_dead_after_it(app, browser_for, make_user) -> None:
    admin = browser_for(make_user(Role.ADMIN))
    for change in ("disable", "reset password"):
        officer = make_user(Role.OFFICER)
        stolen = browser_for(officer).client.get_cookie("session").value
        form = {"role": "officer", "name": "", "active": "1"}
        if change == "disable":
            form.pop("active")
        else:
            form["new_password"] = "a new password for them"
        assert admin.post(f"/admin/users/{officer.id}", form).status_code == 302
        thief = app.test_client()
        thief.set_cookie("session", stolen)
        response = thief.get("/r/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), change
        assert thief.get("/api/v1/buildings").status_code == 401, change
