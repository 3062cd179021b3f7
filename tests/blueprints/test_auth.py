"""Signing in and out: generic errors, server-side sessions, password changes, CSRF."""

from __future__ import annotations

from sqlalchemy import func, select

from floorplans.db import db
from floorplans.models import LoginSession, Role
from floorplans.services import accounts
from tests.conftest import PASSWORD, Browser


def test_login_page_is_public_and_everything_else_redirects(browser: Browser) -> None:
    assert browser.get("/login").status_code == 200
    response = browser.get("/portal/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/portal/")


def test_login_sends_each_role_home(browser_for, make_user) -> None:
    homes = {Role.ADMIN: "/admin/", Role.PARTNER: "/portal/", Role.OFFICER: "/r/", Role.PLANNER: "/r/"}
    for role, home in homes.items():
        response = browser_for(make_user(role)).get("/")
        assert response.headers["Location"] == home, role


def test_failed_login_never_says_whether_the_account_exists(browser: Browser, make_user) -> None:
    user = make_user(Role.OFFICER)
    wrong_password = browser.post("/login", {"email": user.email, "password": "wrong password 123"})
    no_account = browser.post("/login", {"email": "nobody@example.org", "password": "wrong password 123"})
    assert wrong_password.status_code == no_account.status_code == 401
    message = "do not match an active account"
    assert message in wrong_password.get_data(as_text=True)
    assert message in no_account.get_data(as_text=True)


def test_disabled_account_cannot_sign_in(browser: Browser, make_user) -> None:
    user = make_user(Role.OFFICER, active=False)
    assert browser.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 401


def test_next_never_leaves_the_site(browser: Browser, make_user) -> None:
    user = make_user(Role.OFFICER)
    browser.get("/login")
    response = browser.post("/login?next=//evil.example/x", {"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/r/"
    browser2 = Browser(browser.client.application.test_client())
    browser2.get("/login")
    response = browser2.post("/login?next=/r/?q=main", {"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/r/?q=main"


def test_a_cookie_copied_before_logout_is_dead_after_it(app, browser_for, make_user) -> None:
    user = make_user(Role.OFFICER)
    browser = browser_for(user)
    stolen = browser.client.get_cookie("session").value
    assert browser.get("/r/").status_code == 200

    browser.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/r/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_starts_a_new_session(app, browser: Browser, make_user) -> None:
    user = make_user(Role.OFFICER)
    browser.get("/login")
    before = browser.client.get_cookie("session").value
    browser.post("/login", {"email": user.email, "password": PASSWORD})
    after = browser.client.get_cookie("session").value
    assert before != after
    assert db.session.scalar(select(func.count(LoginSession.id)).where(LoginSession.user_id == user.id)) == 1


def test_password_change_ends_every_other_session(app, browser_for, make_user) -> None:
    user = make_user(Role.PARTNER)
    laptop, phone = browser_for(user), browser_for(user)
    response = laptop.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/portal/").status_code == 200  # the browser that changed it stays in
    assert phone.get("/portal/").status_code == 302  # every other one is out
    fresh = Browser(app.test_client())
    assert fresh.login(user.email, "a brand new passphrase").status_code == 302


def test_password_change_refuses_bad_input_and_changes_nothing(browser_for, make_user) -> None:
    user = make_user(Role.OFFICER)
    browser = browser_for(user)
    old_hash = user.password_hash
    for form, problem in (
        (
            {"current_password": "wrong", "new_password": "x" * 14, "confirm_password": "x" * 14},
            "not your current password",
        ),
        ({"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"}, "at least 12"),
        ({"current_password": PASSWORD, "new_password": "y" * 14, "confirm_password": "z" * 14}, "does not match"),
    ):
        response = browser.post("/account/password", form)
        assert response.status_code == 422
        assert problem in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == old_hash


def test_disabling_an_account_ends_its_sessions(app, browser_for, make_user) -> None:
    officer = make_user(Role.OFFICER)
    browser = browser_for(officer)
    accounts.update_user(officer, role="officer", organisation=None, active=False, name="")
    db.session.commit()
    assert browser.get("/r/").status_code == 302


def test_forms_without_the_csrf_token_are_refused(browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="Old name")
    browser = browser_for(partner)
    response = browser.post(
        f"/portal/buildings/{building.id}/edit", {"name": "Changed", "street": "1 A St", "city": "X"}, csrf=False
    )
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    response = browser.post(
        f"/portal/buildings/{building.id}/edit",
        {"name": "Changed", "street": "1 A St", "city": "X", "csrf_token": "forged"},
        csrf=False,
    )
    assert response.status_code == 400
    db.session.refresh(building)
    assert building.name == "Old name"


def test_login_form_needs_csrf_too(browser: Browser, make_user) -> None:
    user = make_user(Role.OFFICER)
    response = browser.post("/login", {"email": user.email, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400


def test_idle_sessions_expire(app, browser_for, make_user) -> None:
    import datetime as dt

    user = make_user(Role.OFFICER)
    browser = browser_for(user)
    login = db.session.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    login.last_seen_at -= dt.timedelta(minutes=31)
    db.session.commit()
    assert browser.get("/r/").status_code == 302
