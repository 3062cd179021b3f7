"""TOTP two-factor sign-in: enrolling, signing in with a code, codes used once, wrong codes
counting toward the lock, turning it off, and administrators held to it when required."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from floorplans.config import DEFAULTS
from floorplans.db import db
from floorplans.models import Role, User
from floorplans.services import login
from tests.conftest import PASSWORD, Browser
from tests.security.conftest import audit_events


def enrol(browser: Browser) -> str:
    """Turn two-factor on through the page, as a person with an authenticator app would."""
    page = browser.get("/account/two-factor").get_data(as_text=True)
    key = re.search(r'class="totp-key"><code>([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    assert "otpauth://totp/" in page and f"secret={key}" in page
    wrong = browser.post("/account/two-factor", {"action": "enable", "code": "000000"})
    assert wrong.status_code == 422 and "is not the code your app shows" in wrong.get_data(as_text=True)
    response = browser.post("/account/two-factor", {"action": "enable", "code": pyotp.TOTP(key).now()})
    assert response.status_code == 302
    return key


def password_step(app, user: User, password: str = PASSWORD) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client())
    response = browser.post("/login", {"email": user.email, "password": password})
    assert response.status_code == 302 and response.headers["Location"] == "/login/code", response.status_code
    assert browser.get("/login/code").status_code == 200  # follows the redirect: the form and its token
    return browser


def code_at(key: str, offset_steps: int) -> str:
    return pyotp.TOTP(key).at(time.time() + 30 * offset_steps)


def test_enrol_then_sign_in_with_a_code_that_works_once(app, browser_for, make_user) -> None:
    user = make_user(Role.PARTNER)
    key = enrol(browser_for(user))
    db.session.refresh(user)
    assert user.has_two_factor and login.open_secret(user.totp_secret_sealed) == key
    assert key not in user.totp_secret_sealed  # sealed (tests/security/test_secrets_at_rest.py)
    assert audit_events("two_factor.enable")[0].target_id == user.id
    assert key not in repr([e.detail for e in audit_events()])  # the secret is never logged

    browser = password_step(app, user)
    assert browser.get("/portal/").headers["Location"].startswith("/login")  # not in yet
    wrong = browser.post("/login/code", {"code": "123456"})
    assert wrong.status_code == 401 and "That code is not right" in wrong.get_data(as_text=True)
    assert audit_events("login.failure")[-1].detail["reason"] == "wrong two-factor code"
    code = code_at(key, 1)  # the next step's code: within the allowed drift
    response = browser.post("/login/code", {"code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/portal/"
    assert browser.get("/portal/").status_code == 200
    assert audit_events("login.success")[-1].detail["method"] == "password and TOTP"

    # The same code again, or an older one, from someone who watched it typed: refused.
    replay = password_step(app, user)
    assert replay.post("/login/code", {"code": code}).status_code == 401
    assert replay.post("/login/code", {"code": code_at(key, 0)}).status_code == 401


def test_the_code_step_cannot_be_skipped_or_kept_open(app, make_user, browser_for) -> None:
    user = make_user(Role.OFFICER)
    key = enrol(browser_for(user))
    stranger = Browser(app.test_client())
    response = stranger.post("/login/code", {"code": pyotp.TOTP(key).now()})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert stranger.get("/r/").headers["Location"].startswith("/login")

    slow = password_step(app, user)
    with slow.client.session_transaction() as session:
        pending = session["pending_login"]
        session["pending_login"] = {**pending, "at": pending["at"] - 6 * 60}  # the code comes 6 minutes later
    response = slow.post("/login/code", {"code": pyotp.TOTP(key).now()})
    assert response.headers["Location"] == "/login"
    assert slow.get("/r/").headers["Location"].startswith("/login")


def test_wrong_codes_lock_the_account_like_wrong_passwords(app, browser_for, make_user) -> None:
    user = make_user(Role.OFFICER)
    key = enrol(browser_for(user))
    browser = password_step(app, user)
    for _ in range(5):
        browser.post("/login/code", {"code": "000000"})
    assert audit_events("login.lock")[0].target_id == user.id
    response = browser.post("/login/code", {"code": pyotp.TOTP(key).now()})
    assert response.status_code == 401 and "That code is not right" in response.get_data(as_text=True)
    locked = Browser(app.test_client()).post("/login", {"email": user.email, "password": PASSWORD})
    assert locked.status_code == 401  # the password alone says nothing either


def test_turning_it_off_needs_the_password_and_an_admin_can_reset_it(app, browser_for, make_user) -> None:
    user = make_user(Role.PARTNER)
    browser = browser_for(user)
    enrol(browser)
    response = browser.post("/account/two-factor", {"action": "disable", "password": "wrong password!"})
    assert response.status_code == 422
    db.session.refresh(user)
    assert user.has_two_factor
    assert browser.post("/account/two-factor", {"action": "disable", "password": PASSWORD}).status_code == 302
    db.session.refresh(user)
    assert not user.has_two_factor and audit_events("two_factor.disable")

    enrol(browser)
    admin = browser_for(make_user(Role.ADMIN))
    assert admin.post(f"/admin/users/{user.id}/two-factor/reset").status_code == 302
    db.session.refresh(user)
    assert not user.has_two_factor
    (reset,) = audit_events("two_factor.reset")
    assert reset.actor_role == "admin" and reset.target_id == user.id
    assert Browser(app.test_client()).login(user).headers["Location"] == "/portal/"  # password alone again


@pytest.fixture
def required_for_admins(app_config) -> None:
    app_config["TWO_FACTOR_REQUIRED_ROLES"] = DEFAULTS["TWO_FACTOR_REQUIRED_ROLES"]  # the tests' default is []


def test_admins_must_enrol_first_by_default(required_for_admins, app, make_user, browser_for, api_token) -> None:
    assert DEFAULTS["TWO_FACTOR_REQUIRED_ROLES"] == ["admin"]
    admin_user, officer = make_user(Role.ADMIN), make_user(Role.OFFICER)
    signing_in = Browser(app.test_client())
    response = signing_in.post("/login", {"email": admin_user.email, "password": PASSWORD},
                               query_string={"next": "/admin/users"})
    assert response.headers["Location"] == "/account/two-factor"  # sent to enrol at once, whatever next= said
    admin = browser_for(admin_user)
    for url in ("/admin/", "/admin/users", "/admin/audit", "/portal/", "/account/password"):
        response = admin.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor", url
    assert admin.client.get("/api/v1/buildings").status_code == 403  # the API with the browser session
    assert admin.client.get("/api/v1/buildings", headers=api_token(admin_user)).status_code == 200
    assert browser_for(officer).get("/r/").status_code == 200  # other roles are not held back

    key = enrol(admin)
    assert admin.get("/admin/").status_code == 200
    refused = admin.post("/account/two-factor", {"action": "disable", "password": PASSWORD})
    assert refused.status_code == 422 and "must keep two-factor" in refused.get_data(as_text=True)
    again = password_step(app, admin_user)
    assert again.post("/login/code", {"code": code_at(key, 1)}).headers["Location"] == "/admin/"


def test_matching_step_accepts_drift_of_one_step_only() -> None:
    key = login.new_secret()
    now = 1_800_000_000.0
    totp = pyotp.TOTP(key)
    step = int(now // 30)
    assert login.matching_step(key, totp.at(now), now=now) == step
    assert login.matching_step(key, totp.at(now - 30), now=now) == step - 1
    assert login.matching_step(key, totp.at(now + 60), now=now) is None
    assert login.matching_step(key, totp.at(now), now=now, after=step) is None
    assert login.matching_step(key, "12 34 5", now=now) is None


def test_a_right_password_buys_no_more_code_guesses(app, browser_for, make_user) -> None:
    """Each wrong code counts; going back to the password step does not start them afresh."""
    user = make_user(Role.OFFICER)
    key = enrol(browser_for(user))
    browser = password_step(app, user)
    for _ in range(3):
        assert browser.post("/login/code", {"code": "000000"}).status_code == 401
    browser = password_step(app, user)  # the password is right: the code step opens again...
    for _ in range(2):
        browser.post("/login/code", {"code": "000000"})
    assert audit_events("login.lock")[-1].target_id == user.id  # ...but 3 + 2 wrong codes are five
    assert browser.post("/login/code", {"code": pyotp.TOTP(key).now()}).status_code == 401


def test_turning_it_off_allows_five_wrong_passwords_and_records_each(app, browser_for, make_user, clock) -> None:
    user = make_user(Role.PARTNER)
    browser = browser_for(user)
    enrol(browser)
    for n in range(5):
        response = browser.post("/account/two-factor", {"action": "disable", "password": f"a wrong guess {n}"})
        assert response.status_code == 422
    assert "this form is locked for 15 minutes" in response.get_data(as_text=True)
    failed = audit_events("two_factor.disable_failed")
    assert [e.detail["reason"] for e in failed] == ["wrong password"] * 5 + ["form locked"]
    assert {e.target_id for e in failed} == {user.id} and "a wrong guess" not in repr([e.detail for e in failed])
    # Locked: the right password is refused too, and the refusal recorded.
    refused = browser.post("/account/two-factor", {"action": "disable", "password": PASSWORD})
    assert refused.status_code == 422 and "locked" in refused.get_data(as_text=True)
    assert len(audit_events("two_factor.disable_failed")) == 7
    db.session.refresh(user)
    assert user.has_two_factor
    clock.advance(minutes=15, seconds=1)
    assert browser.post("/account/two-factor", {"action": "disable", "password": PASSWORD}).status_code == 302
    db.session.refresh(user)
    assert not user.has_two_factor


@pytest.fixture
def required_for_officers(app_config) -> None:
    app_config["TWO_FACTOR_REQUIRED_ROLES"] = ["officer"]


def test_the_required_roles_are_a_setting(required_for_officers, app, make_user, browser_for) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    assert officer.get("/r/").headers["Location"] == "/account/two-factor"
    assert browser_for(make_user(Role.ADMIN)).get("/admin/").status_code == 200


@pytest.mark.slow  # renders the demo plan in child processes
def test_the_demo_administrator_signs_in_with_the_printed_key(app, runner) -> None:
    """`make run`'s demo: its administrator is enrolled as every administrator must be, and
    the key printed with the logins works; every generated password passes the policy."""
    from pathlib import Path

    from floorplans.services import passwords

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    key = re.search(r"TOTP\('([A-Z2-7]+)'\)", result.output).group(1)
    assert "otpauth://totp/" in result.output
    assert (Path(app.instance_path) / "demo-two-factor.json").stat().st_mode & 0o777 == 0o600
    logins = {role: (email, password) for role, email, password in
              re.findall(r"^  (\w+) +(\S+@demo\.floorplans\.local) +(\S+)$", result.output, re.M)}
    assert set(logins) == {"admin", "partner", "officer", "planner"}
    for email, password in logins.values():
        passwords.check(password, email=email)
    email, password = logins["admin"]
    browser = Browser(app.test_client())
    response = browser.post("/login", {"email": email, "password": password})
    assert response.headers["Location"] == "/login/code"
    browser.get("/login/code")
    assert browser.post("/login/code", {"code": code_at(key, 1)}).headers["Location"] == "/admin/"
    assert "Demo logins" in runner.invoke(args=["demo"]).output and key in runner.invoke(args=["demo"]).output
