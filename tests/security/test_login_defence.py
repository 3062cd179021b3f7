"""Login defence: the lock after repeated failures (for the source that earned it only),
the cap on unknown devices, the per-address limit, both held under concurrent bursts on a
live server, one answer for every kind of failure, unlocking from the web and the command
line, ``next=`` kept on this site, and every attempt in the audit log."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from floorplans.auth import login_policy
from floorplans.config import DEFAULTS, Settings
from floorplans.db import db
from floorplans.models import Role, User
from floorplans.services import accounts
from tests.conftest import PASSWORD, Browser, serving
from tests.security.conftest import Clock, audit_events

WRONG = "not the password at all"


def attempt(browser: Browser, email: str, password: str, ip: str = "192.0.2.10"):  # type: ignore[no-untyped-def]
    """One try through the sign-in form, as a person at ``ip`` makes it (form first)."""
    browser.get("/login", environ_base={"REMOTE_ADDR": ip})
    return browser.post("/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


def sign_out(browser: Browser) -> None:
    browser.get("/account/password")  # a page with a form: the signed-in session's token
    assert browser.post("/logout").status_code == 302


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    """The answer as a person sees it: the CSRF token (random per session) and the typed
    e-mail (echoed back into the form) left out."""
    text = response.get_data(as_text=True)
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", text)
    return re.sub(r'name="email" type="email" value="[^"]*"', "", text)


def test_the_documented_numbers_are_the_defaults(app) -> None:
    defaults = {key: value for key, value in DEFAULTS.items() if key.startswith(("LOGIN_", "TWO_FACTOR_"))}
    policy = login_policy(Settings.from_config({**app.config, **defaults}))  # the tests' mapping sets no roles
    assert (policy.max_failures, policy.window.total_seconds(), policy.lock.total_seconds()) == (5, 900, 900)
    assert policy.address_max_failures == 30 and policy.account_max_failures == 100
    assert policy.known_device.days == 90 and policy.two_factor_roles == {"admin"}


def test_five_failures_lock_the_account_for_fifteen_minutes(app, browser: Browser, make_user, clock: Clock) -> None:
    user = make_user(Role.PARTNER)
    for _ in range(4):
        assert attempt(browser, user.email, WRONG).status_code == 401
    assert not audit_events("login.lock")
    assert attempt(browser, user.email, WRONG).status_code == 401  # the fifth
    (lock,) = audit_events("login.lock")
    assert lock.target_id == user.id and lock.detail["failures"] == 5
    assert lock.detail["held_back"] == "sign-in from 192.0.2.10"

    # Locked: even the right password gets the very same answer as a wrong one.
    assert attempt(browser, user.email, PASSWORD).status_code == 401
    assert audit_events("login.refused")[-1].detail["reason"] == "account locked for this address or device"
    clock.advance(minutes=14)
    assert attempt(browser, user.email, PASSWORD).status_code == 401  # refusals do not extend the lock...
    clock.advance(minutes=1, seconds=1)
    assert attempt(browser, user.email, PASSWORD).status_code == 302  # ...which ran out
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
    assert reasons == ["no such account", "wrong password", "account locked for this address or device",
                       "account disabled"]


# --- the lock cannot be turned against the real officer -------------------------------

def test_an_attacker_cannot_lock_the_officer_out_from_elsewhere(app, make_user, clock) -> None:
    """CJIS 5.5.3 locks "the account/node": the node that failed, not the officer's car."""
    officer = make_user(Role.OFFICER)
    attacker = Browser(app.test_client())
    for _ in range(3):  # five failures, then ten more every quarter hour: for good, once
        for _ in range(5):
            attempt(attacker, officer.email, WRONG, ip="203.0.113.66")
        clock.advance(minutes=15, seconds=1)
    for _ in range(5):
        attempt(attacker, officer.email, WRONG, ip="203.0.113.66")
    assert attempt(attacker, officer.email, PASSWORD, ip="203.0.113.66").status_code == 401
    # Meanwhile, the officer in the car, never signed in on this browser before:
    car = Browser(app.test_client())
    assert attempt(car, officer.email, PASSWORD, ip="10.20.3.4").status_code == 302
    assert [e.target_id for e in audit_events("login.lock")] == [officer.id] * 4


@pytest.fixture
def small_account_limit(app_config) -> None:
    app_config["LOGIN_ACCOUNT_MAX_FAILURES_PER_HOUR"] = 8


def test_unknown_devices_together_are_capped_per_hour_while_known_ones_sign_in(
    small_account_limit, app, make_user, clock
) -> None:
    """ASVS 2.2.1: at most so many failures an hour on one account, however many addresses
    try; the browsers the account signed in on before keep their own count."""
    officer = make_user(Role.OFFICER)
    car = Browser(app.test_client())
    assert attempt(car, officer.email, PASSWORD, ip="10.20.3.4").status_code == 302  # a known device from now on
    sign_out(car)

    botnet = [f"198.51.100.{n}" for n in range(1, 5)]
    for ip in botnet:  # 2 failures from each of 4 addresses: no address reaches 5, the account reaches 8
        for _ in range(2):
            attempt(Browser(app.test_client()), officer.email, WRONG, ip=ip)
    lock = audit_events("login.lock")[-1]
    assert lock.detail["held_back"] == "sign-in on every device the account never signed in on"
    fresh = Browser(app.test_client())
    assert attempt(fresh, officer.email, PASSWORD, ip="192.0.2.77").status_code == 401  # a new browser waits
    forged = Browser(app.test_client())
    forged.client.set_cookie("known_device", f'{{"d": "x", "u": [{officer.id}]}}', path="/login")
    assert attempt(forged, officer.email, PASSWORD, ip="192.0.2.78").status_code == 401  # unsigned: worth nothing
    # The car's browser, from a new cell address, is known: it signs in.
    assert attempt(car, officer.email, PASSWORD, ip="100.64.9.9").status_code == 302
    clock.advance(hours=1, seconds=1)
    assert attempt(Browser(app.test_client()), officer.email, PASSWORD, ip="192.0.2.79").status_code == 302


def test_a_known_device_has_its_own_five(app, make_user) -> None:
    """Someone at the officer's own browser (or with its cookie) still gets five tries."""
    officer = make_user(Role.OFFICER)
    car = Browser(app.test_client())
    assert attempt(car, officer.email, PASSWORD).status_code == 302
    sign_out(car)
    for _ in range(5):
        attempt(car, officer.email, WRONG, ip="100.64.1.1")
    assert audit_events("login.lock")[-1].detail["held_back"] == "sign-in on one device the account signed in on before"
    assert attempt(car, officer.email, PASSWORD, ip="100.64.1.2").status_code == 401  # locked on that device
    assert attempt(Browser(app.test_client()), officer.email, PASSWORD, ip="100.64.1.1").status_code == 302


# --- unlocking ------------------------------------------------------------------------

def test_an_admin_unlocks_from_the_user_page(app, browser_for, make_user, clock) -> None:
    user = make_user(Role.PARTNER)
    stranger = Browser(app.test_client())
    for _ in range(5):
        attempt(stranger, user.email, WRONG)
    admin = browser_for(make_user(Role.ADMIN))
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Locked after repeated failed sign-ins" in page and "sign-in from 192.0.2.10" in page
    assert admin.post(f"/admin/users/{user.id}/unlock").status_code == 302
    assert "Not locked." in admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    (unlock,) = audit_events("account.unlock")
    assert unlock.target_id == user.id and unlock.actor_role == "admin"
    assert unlock.detail["addresses"] == ["192.0.2.10"]
    # The failures before the unlock no longer count: one more is not a new lock.
    attempt(stranger, user.email, WRONG)
    assert attempt(Browser(app.test_client()), user.email, PASSWORD).status_code == 302


@pytest.fixture
def small_address_limit(app_config) -> None:
    app_config["LOGIN_ADDRESS_MAX_FAILURES"] = 6


def test_flask_users_unlock_when_no_admin_can_sign_in(small_address_limit, app, runner, make_user) -> None:
    admin = make_user(Role.ADMIN)
    office = "192.0.2.50"
    for _ in range(5):
        attempt(Browser(app.test_client()), admin.email, WRONG, ip=office)
    attempt(Browser(app.test_client()), "someone@example.org", WRONG, ip=office)  # the office's 6th: limited
    assert attempt(Browser(app.test_client()), admin.email, PASSWORD, ip=office).status_code == 429

    result = runner.invoke(args=["users", "unlock", "--email", admin.email.upper()])
    assert result.exit_code == 0, result.output
    assert "can sign in again now" in result.output
    (unlock,) = audit_events("account.unlock")
    assert unlock.channel == "cli" and unlock.target_id == admin.id and unlock.detail["addresses"] == [office]
    assert attempt(Browser(app.test_client()), admin.email, PASSWORD, ip=office).status_code == 302

    for n in range(6):
        attempt(Browser(app.test_client()), f"nobody{n}@example.org", WRONG, ip="198.51.100.9")
    assert attempt(Browser(app.test_client()), admin.email, PASSWORD, ip="198.51.100.9").status_code == 429
    assert runner.invoke(args=["users", "unlock", "--address", "198.51.100.9"]).exit_code == 0
    assert attempt(Browser(app.test_client()), admin.email, PASSWORD, ip="198.51.100.9").status_code == 302
    assert runner.invoke(args=["users", "unlock"]).exit_code != 0  # neither: told to give one
    assert runner.invoke(args=["users", "unlock", "--email", "nobody@example.org"]).exit_code == 1


# --- the per-address limit ------------------------------------------------------------

def test_one_address_cannot_spray_many_accounts(small_address_limit, app, browser: Browser, make_user) -> None:
    victims = [make_user(Role.OFFICER) for _ in range(3)]
    for n in range(6):  # a few tries on each of several accounts: none of them reaches 5
        assert attempt(browser, victims[n % 3].email, WRONG, ip="198.51.100.7").status_code == 401
    limited = attempt(browser, victims[0].email, PASSWORD, ip="198.51.100.7")
    assert limited.status_code == 429
    assert "too many failed sign-ins from your network" in limited.get_data(as_text=True)
    assert audit_events("login.refused")[-1].detail["reason"] == "too many failures from this address"
    (lock,) = audit_events("login.lock")  # the address, not any account
    assert lock.target_id is None and lock.detail["held_back"] == "sign-in from 198.51.100.7, to every account"
    # Another address is not held back, and the accounts themselves are fine.
    assert attempt(Browser(app.test_client()), victims[0].email, PASSWORD, ip="198.51.100.8").status_code == 302


def test_ipv6_addresses_are_limited_by_their_64_network(small_address_limit, app, browser: Browser, make_user) -> None:
    user = make_user(Role.OFFICER)
    for n in range(6):  # a host rotating through its own /64
        attempt(browser, f"nobody{n}@example.org", WRONG, ip=f"2001:db8:0:7::{n + 1:x}")
    assert attempt(browser, user.email, PASSWORD, ip="2001:db8:0:7::ffff").status_code == 429
    assert attempt(Browser(app.test_client()), user.email, PASSWORD, ip="2001:db8:0:8::1").status_code == 302
    assert audit_events("login.failure")[0].address_key == "2001:db8:0:7::/64"


# --- concurrent bursts on a live server -------------------------------------------------

@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app behind werkzeug's threaded server: each request in a thread of its own,
    with its own database connection, as under gunicorn's threads."""
    with serving(app) as url:
        yield url


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch, password_hash: str) -> list[str]:
    """Every check of a typed password against a real account's hash (every test account
    shares one hash), counted; the dummy checks that keep refusals as slow are not."""
    real = accounts.check_password_hash
    checked: list[str] = []
    lock = threading.Lock()

    def counting(pwhash: str, password: str) -> bool:
        if pwhash == password_hash:
            with lock:
                checked.append(password)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    return checked


def burst(url: str, logins: list[tuple[str, str]]) -> list[int]:
    """Each (e-mail, password) from its own browser session, all posted at the same instant."""
    sessions = []
    for _ in logins:
        client = requests.Session()
        page = client.get(f"{url}/login", timeout=30).text
        sessions.append((client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)))
    start = threading.Barrier(len(logins))
    statuses: list[int] = [0] * len(logins)

    def post(n: int) -> None:
        client, token = sessions[n]
        email, password = logins[n]
        start.wait()
        statuses[n] = client.post(f"{url}/login", data={"email": email, "password": password, "csrf_token": token},
                                  allow_redirects=False, timeout=60).status_code

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(logins))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for client, _ in sessions:
        client.close()
    return statuses


def test_twenty_at_once_get_five_password_checks(app, live_server: str, make_user, password_checks) -> None:
    officer = make_user(Role.OFFICER)
    statuses = burst(live_server, [(officer.email, f"{WRONG} {n}") for n in range(20)])
    assert statuses == [401] * 20
    assert len(password_checks) == 5, password_checks  # not one more, whatever the timing
    assert len(audit_events("login.failure")) == 5 and len(audit_events("login.refused")) == 15
    assert len(audit_events("login.lock")) == 1
    # Locked: the right password is refused unchecked...
    assert burst(live_server, [(officer.email, PASSWORD)]) == [401]
    assert len(password_checks) == 5
    db.session.rollback()


@pytest.fixture
def address_limit_of_ten(app_config) -> None:
    app_config["LOGIN_ADDRESS_MAX_FAILURES"] = 10


def test_the_address_limit_holds_under_a_burst(address_limit_of_ten, app, live_server: str, make_user,
                                               password_checks) -> None:
    victims: list[User] = [make_user(Role.OFFICER) for _ in range(30)]  # one try each: no account limit binds
    statuses = burst(live_server, [(victim.email, WRONG) for victim in victims])
    assert len(password_checks) == 10, len(password_checks)
    assert statuses.count(401) == 10 and statuses.count(429) == 20
    db.session.rollback()


# --- next= ---------------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "/r/\r\nSet-Cookie: x=1", "/r/%0d%0a", "javascript:alert(1)", "/r/\x00", "/r/\u202e", "evil.example",
    "/" + "a" * 3000,
])
def test_next_goes_only_to_a_path_of_this_site(app, make_user, target: str) -> None:
    officer = make_user(Role.OFFICER)
    browser = Browser(app.test_client())
    browser.get("/login")
    response = browser.post("/login", {"email": officer.email, "password": PASSWORD},
                            query_string={"next": target})
    if response.status_code == 422:  # refused before any route (control characters: floorplans.bounds)
        assert "\x00" in target
        return
    assert response.status_code == 302
    expected = "/r/%0d%0a" if target == "/r/%0d%0a" else "/r/"  # an encoded CR LF is just a path
    assert response.headers["Location"] == expected


def test_next_keeps_a_path_and_query_of_this_site(app, make_user) -> None:
    officer = make_user(Role.OFFICER)
    browser = Browser(app.test_client())
    browser.get("/login")
    target = "/r/lookup?address=123 Main St, Toronto"
    response = browser.post("/login", {"email": officer.email, "password": PASSWORD}, query_string={"next": target})
    assert response.status_code == 302 and response.headers["Location"].startswith("/r/lookup?address=123")


# --- the record -----------------------------------------------------------------------

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
    assert rejected.detail == {"prefix": secret[:10], "reason": "unknown"} and secret not in repr(rejected.detail)
