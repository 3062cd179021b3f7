"""Login defence: the lock after repeated failures, the per-address limit, one answer for
every kind of failure, and every attempt in the audit log."""

from __future__ import annotations

import re

import pytest

from floorplans.auth import login_policy
from floorplans.config import DEFAULTS
from floorplans.db import db
from floorplans.models import Role
from tests.conftest import PASSWORD, Browser
from tests.security.conftest import Clock, audit_events

WRONG = "not the password at all"


def attempt(browser: Browser, email: str, password: str, ip: str = "192.0.2.10"):  # type: ignore[no-untyped-def]
    if browser.csrf_token is None:
        browser.get("/login", environ_base={"REMOTE_ADDR": ip})
    return browser.post("/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    """The answer as a person sees it: the CSRF token (random per session) and the typed
    e-mail (echoed back into the form) left out."""
    text = response.get_data(as_text=True)
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", text)
    return re.sub(r'name="email" type="email" value="[^"]*"', "", text)


def test_the_documented_numbers_are_the_defaults(app) -> None:
    policy = login_policy(app.config)
    assert (policy.max_failures, policy.window.total_seconds(), policy.lock.total_seconds()) == (5, 900, 900)
    assert policy.address_max_failures == DEFAULTS["LOGIN_ADDRESS_MAX_FAILURES"] == 30


def test_five_failures_lock_the_account_for_fifteen_minutes(app, browser: Browser, make_user, clock: Clock) -> None:
    user = make_user(Role.PARTNER)
    for _ in range(4):
        assert attempt(browser, user.email, WRONG).status_code == 401
    assert not audit_events("login.lock")
    assert attempt(browser, user.email, WRONG).status_code == 401  # the fifth
    (lock,) = audit_events("login.lock")
    assert lock.target_id == user.id and lock.detail["failures"] == 5

    # Locked: even the right password gets the very same answer as a wrong one.
    assert attempt(browser, user.email, PASSWORD).status_code == 401
    assert audit_events("login.refused")[-1].detail["reason"] == "account locked"
    clock.advance(minutes=14)
    assert attempt(browser, user.email, PASSWORD).status_code == 401
    clock.advance(minutes=1, seconds=1)
    assert attempt(browser, user.email, PASSWORD).status_code == 302  # the lock ran out
    assert audit_events("login.success")[-1].actor_id == user.id


def test_failures_count_within_the_window_and_a_success_resets_them(app, browser: Browser, make_user, clock) -> None:
    user = make_user(Role.OFFICER)
    for _ in range(4):
        attempt(browser, user.email, WRONG)
    clock.advance(minutes=16)  # those four fall out of the 15-minute window
    for _ in range(4):
        attempt(browser, user.email, WRONG)
    assert attempt(Browser(app.test_client()), user.email, PASSWORD).status_code == 302
    for _ in range(4):
        attempt(browser, user.email, WRONG)  # four after a success: still not five
    assert attempt(Browser(app.test_client()), user.email, PASSWORD).status_code == 302
    assert audit_events("login.lock") == []


def test_one_answer_for_unknown_wrong_locked_and_disabled(app, browser: Browser, make_user, clock) -> None:
    active, disabled, locked = make_user(Role.OFFICER), make_user(Role.OFFICER, active=False), make_user(Role.OFFICER)
    for _ in range(5):
        attempt(browser, locked.email, WRONG)
    answers = {
        "unknown account": attempt(browser, "nobody@example.org", WRONG),
        "wrong password": attempt(browser, active.email, WRONG),
        "locked, right password": attempt(browser, locked.email, PASSWORD),
        "disabled, right password": attempt(browser, disabled.email, PASSWORD),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert set(statuses.values()) == {401}, statuses
    texts = {page_text(r) for r in answers.values()}
    assert len(texts) == 1, "the answer differs between kinds of failure"
    assert "do not match an active account" in texts.pop()
    reasons = [e.detail["reason"] for e in audit_events() if e.action in ("login.failure", "login.refused")][-4:]
    assert reasons == ["no such account", "wrong password", "account locked", "account disabled"]


def test_an_admin_unlocks_from_the_user_page(app, browser_for, make_user, clock) -> None:
    user = make_user(Role.PARTNER)
    stranger = Browser(app.test_client())
    for _ in range(5):
        attempt(stranger, user.email, WRONG)
    admin = browser_for(make_user(Role.ADMIN))
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Locked after repeated failed sign-ins" in page
    assert admin.post(f"/admin/users/{user.id}/unlock").status_code == 302
    assert "Not locked." in admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    (unlock,) = audit_events("account.unlock")
    assert unlock.target_id == user.id and unlock.actor_role == "admin"
    # The failures before the unlock no longer count: one more is not a new lock.
    attempt(stranger, user.email, WRONG)
    assert attempt(Browser(app.test_client()), user.email, PASSWORD).status_code == 302


@pytest.fixture
def small_address_limit(app_config) -> None:
    app_config["LOGIN_ADDRESS_MAX_FAILURES"] = 6


def test_one_address_cannot_spray_many_accounts(small_address_limit, app, browser: Browser, make_user) -> None:
    victims = [make_user(Role.OFFICER) for _ in range(3)]
    for n in range(6):  # a few tries on each of several accounts: none of them reaches 5
        assert attempt(browser, victims[n % 3].email, WRONG, ip="198.51.100.7").status_code == 401
    limited = attempt(browser, victims[0].email, PASSWORD, ip="198.51.100.7")
    assert limited.status_code == 429
    assert "too many failed sign-ins from your network" in limited.get_data(as_text=True)
    assert audit_events("login.refused")[-1].detail["reason"] == "too many failures from this address"
    assert audit_events("login.lock") == []  # no account was locked by it
    # Another address is not held back, and the accounts themselves are fine.
    assert attempt(Browser(app.test_client()), victims[0].email, PASSWORD, ip="198.51.100.8").status_code == 302


def test_ipv6_addresses_are_limited_by_their_64_network(small_address_limit, app, browser: Browser, make_user) -> None:
    user = make_user(Role.OFFICER)
    for n in range(6):  # a host rotating through its own /64
        attempt(browser, f"nobody{n}@example.org", WRONG, ip=f"2001:db8:0:7::{n + 1:x}")
    assert attempt(browser, user.email, PASSWORD, ip="2001:db8:0:7::ffff").status_code == 429
    assert attempt(Browser(app.test_client()), user.email, PASSWORD, ip="2001:db8:0:8::1").status_code == 302
    assert audit_events("login.failure")[0].address_key == "2001:db8:0:7::/64"


def test_every_attempt_is_in_the_audit_log_without_the_password(app, browser: Browser, make_user) -> None:
    user = make_user(Role.OFFICER)
    attempt(browser, user.email, "Wrong-Secret-123")
    attempt(browser, "Hunter2-typed-in-the-email-field", "x")
    attempt(Browser(app.test_client()), user.email, PASSWORD, ip="203.0.113.9")
    failure, typo = audit_events("login.failure")
    assert (failure.target_id, failure.detail["email"], failure.ip_address) == (user.id, user.email, "192.0.2.10")
    assert typo.detail["email"] == "(not an e-mail address)" and typo.target_id is None
    (success,) = audit_events("login.success")
    assert (success.actor_id, success.ip_address, success.channel) == (user.id, "203.0.113.9", "web")
    everything = repr([(e.action, e.detail) for e in audit_events()])
    assert "Wrong-Secret-123" not in everything and "Hunter2" not in everything and PASSWORD not in everything
    db.session.rollback()


def test_a_rejected_api_token_is_recorded_without_the_token(app) -> None:
    secret = "fpt_" + "A" * 43
    response = app.test_client().get("/api/v1/buildings", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    (rejected,) = audit_events("token.rejected")
    assert rejected.detail == {"prefix": secret[:10]} and secret not in repr(rejected.detail)
