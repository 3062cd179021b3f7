"""Agency sign-in (OpenID Connect) against a real provider: panva's ``oidc-provider`` under
Node (tests/oidc/provider.js), started once for the module on a free loopback port.

The app is driven through plain HTTP (the Flask test client for the app, ``requests`` for
the provider's own pages and redirects; both databases) and through headless Chromium
against the app on a real loopback server.  The provider's "mode" (tests/oidc/provider.js)
makes it misbehave as a broken or hostile one would: ID tokens for another client, expired,
with another nonce, or a JWKS that does not hold its signing key.
"""
from __future__ import annotations

import html
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from floorplans import create_app
from floorplans.config import SettingError
from floorplans.db import db
from floorplans.models import AuditEvent, LoginSession, Role, User
from floorplans.services import accounts
from tests.conftest import Browser, serving

pytestmark = pytest.mark.slow  # starts Node's OpenID provider and talks to it over HTTP

OIDC = Path(__file__).resolve().parent / "oidc"
APP = "http://localhost"  # the Flask test client's host
CLIENT_ID = "floorplans"
CLIENT_SECRET = "floorplans-test-secret"
PROVIDER_PASSWORD = "agency-pass"
GROUPS = {"officer": "Patrol Division", "planner": "Emergency Planning", "admin": "Floorplans Admins"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _install_provider() -> None:
    """``make test`` installs it; a bare ``pytest`` run does the same on first use."""
    if not (OIDC / "node_modules" / "oidc-provider").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: `make test` installs Node and the test provider (tests/oidc)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC, check=True,
                       timeout=600)


@dataclass
class Provider:
    issuer: str
    state_file: Path
    live_port: int  # the port the browser tests' app server uses (registered at the provider)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    mode: dict[str, Any] = field(default_factory=dict)

    def save(self) -> None:
        self.state_file.write_text(json.dumps({"users": self.users, "mode": self.mode}))

    def person(self, *groups: str, amr: tuple[str, ...] = ("pwd", "mfa"), acr: str | None = None,
               email: str | None = None) -> str:
        """A new person at the agency, in ``groups``; returns their user name (the subject)."""
        sub = f"badge-{uuid.uuid4().hex[:8]}"
        self.users[sub] = {"password": PROVIDER_PASSWORD, "email": email or f"{sub}@police.example",
                           "name": f"Officer {sub[-4:]}", "groups": list(groups), "amr": list(amr)}
        if acr:
            self.users[sub]["acr"] = acr
        self.save()
        return sub

    def set_groups(self, sub: str, *groups: str) -> None:
        self.users[sub]["groups"] = list(groups)
        self.save()

    def misbehave(self, **mode: Any) -> None:
        self.mode = mode
        self.save()


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    _install_provider()
    folder = tmp_path_factory.mktemp("oidc")
    live_port = _free_port()
    lives = [f"http://127.0.0.1:{live_port}"]
    state = Provider(issuer="", state_file=folder / "state.json", live_port=live_port)
    state.save()
    env = {
        **os.environ, "STATE_FILE": str(state.state_file),
        "REDIRECT_URIS": json.dumps([f"{base}/login/agency/callback" for base in (APP, *lives)]),
        "LOGOUT_URIS": json.dumps([f"{base}/login" for base in (APP, *lives)]),
    }
    with (folder / "provider.log").open("w") as log:
        process = subprocess.Popen(["node", "provider.js"], cwd=OIDC, env=env, stdout=subprocess.PIPE,
                                   stderr=log, text=True)
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=30):
                pytest.fail(f"the test provider did not start: {(folder / 'provider.log').read_text()}")
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"the test provider stopped: {(folder / 'provider.log').read_text()}")
        state.issuer = json.loads(line)["issuer"]
        yield state
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def agency_settings(provider: Provider) -> dict[str, Any]:
    return {
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_SCOPES": "openid email profile groups",
        "OIDC_GROUPS_OFFICER": [GROUPS["officer"]],
        "OIDC_GROUPS_PLANNER": [GROUPS["planner"]],
        "OIDC_GROUPS_ADMIN": [GROUPS["admin"]],
        "OIDC_AGENCY_NAME": "Test Police",
        "OIDC_CLOCK_SKEW_SECONDS": 0,
        "OIDC_TIMEOUT_SECONDS": 5,
    }


@pytest.fixture
def app_config(app_config: dict[str, Any], provider: Provider) -> dict[str, Any]:
    """The suite's test settings with the agency sign-in on; a test may change them before
    it asks for ``app``."""
    provider.misbehave()  # a well-behaved provider unless the test says otherwise
    return {**app_config, **agency_settings(provider)}


# --- driving a sign-in over plain HTTP ------------------------------------------------------

def at_provider(authorize_url: str, sub: str, *, session: requests.Session | None = None) -> str:
    """Sign in at the provider's own login page as ``sub``; returns the callback URL the
    provider sends the browser back to."""
    http = session or requests.Session()
    try:
        page = http.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text
        action = re.search(r'action="([^"]+)"', page.text)
        assert action, page.text
        response = http.post(urljoin(page.url, action.group(1)),
                             data={"username": sub, "password": PROVIDER_PASSWORD}, allow_redirects=False, timeout=10)
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if not location.startswith(http_base(authorize_url)):
                return location
            response = http.get(location, allow_redirects=False, timeout=10)
        raise AssertionError(f"the provider did not send the browser back: {response.status_code} {response.text}")
    finally:
        if session is None:
            http.close()


def http_base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def start(browser: Browser, next_url: str | None = None) -> str:
    response = browser.get("/login/agency" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.headers["Location"])


def agency_sign_in(browser: Browser, sub: str, next_url: str | None = None) -> Any:
    """The whole sign-in: the app's redirect, the provider's login page, the callback."""
    callback = at_provider(start(browser, next_url), sub)
    return browser.get(local(callback))


def account(provider: Provider, sub: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.identity_issuer == provider.issuer,
                                                User.identity_subject == sub))


def logins_of(user: User) -> int:
    return int(db.session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)))


def last_event(action: str) -> AuditEvent:
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc()))
    assert event is not None, f"no {action} event"
    return event


def refusals() -> int:
    return int(db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "login.refused")))


def text(response: Any) -> str:
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


# --- the happy path, roles, refusals ---------------------------------------------------------

def test_first_sign_in_makes_the_account_with_its_role(app: Flask, browser: Browser, provider: Provider) -> None:
    sub = provider.person(GROUPS["officer"])
    authorize = start(browser, "/r/")
    query = parse_qs(urlsplit(authorize).query)
    # The authorisation request: code flow, PKCE S256, a state and a nonce, our client and scopes.
    assert authorize.startswith(provider.issuer)
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [f"{APP}/login/agency/callback"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile", "groups"}

    response = browser.get(local(at_provider(authorize, sub)))
    assert response.status_code == 302 and response.headers["Location"] == "/r/"
    user = account(provider, sub)
    assert user is not None and user.role == Role.OFFICER.value
    assert user.email == f"{sub}@police.example" and user.name == f"Officer {sub[-4:]}"
    assert user.password_hash == "!"
    assert logins_of(user) == 1  # the same server-side login as a password sign-in
    assert browser.get("/r/").status_code == 200
    created = last_event("account.create")
    assert created.target_id == user.id and created.detail["by"] == "agency sign-in"
    success = last_event("login.success")
    assert success.actor_id == user.id and success.detail["method"] == "agency sign-in"
    assert success.detail["amr"] == ["pwd", "mfa"]
    # No local password works for it, whatever is typed.
    assert Browser(app.test_client()).login(user.email, "!").status_code == 401
    # Nor is there one to change here.
    page = browser.get("/account/password")
    assert page.status_code == 200 and "Your password is your agency account's" in text(page)
    assert 'name="current_password"' not in page.get_data(as_text=True)


def test_the_highest_mapped_role_wins(app: Flask, browser: Browser, provider: Provider) -> None:
    sub = provider.person("Patrol Division", "Floorplans Admins", "Canteen Committee")
    assert agency_sign_in(browser, sub).headers["Location"] == "/admin/"
    user = account(provider, sub)
    assert user is not None and user.role == Role.ADMIN.value


def test_role_follows_the_groups_at_each_sign_in(app: Flask, provider: Provider) -> None:
    sub = provider.person(GROUPS["officer"])
    first = Browser(app.test_client())
    agency_sign_in(first, sub)
    user = account(provider, sub)
    assert user is not None and user.role == Role.OFFICER.value
    first.get("/account/password")
    first.post("/logout")

    provider.set_groups(sub, GROUPS["planner"])
    second = Browser(app.test_client())
    assert agency_sign_in(second, sub).status_code == 302
    user = account(provider, sub)
    assert user is not None and user.role == Role.PLANNER.value
    assert second.get("/exercises/").status_code == 200  # a planner's page
    changed = last_event("account.update")
    assert changed.target_id == user.id and changed.detail["changes"]["role"] == ["officer", "planner"]
    # Still one account: the subject, not the e-mail, names the person.
    assert db.session.scalar(select(func.count()).select_from(User).where(User.identity_subject == sub)) == 1


def test_an_agency_account_has_no_password_here(app: Flask, provider: Provider) -> None:
    """Its password is the agency's: the admin's account page offers none to set, and the
    service refuses one set anyway (a temporary password would open a second way in)."""
    officer_sub = provider.person(GROUPS["officer"])
    agency_sign_in(Browser(app.test_client()), officer_sub)
    officer = account(provider, officer_sub)
    assert officer is not None
    admin = Browser(app.test_client())
    assert agency_sign_in(admin, provider.person(GROUPS["admin"])).status_code == 302
    page = admin.get(f"/admin/users/{officer.id}")
    assert page.status_code == 200 and 'name="new_password"' not in page.get_data(as_text=True)
    assert "Signs in with the agency's own account" in text(page)
    assert "agency sign-in" in text(admin.get("/admin/users"))
    refused = admin.post(f"/admin/users/{officer.id}", {"name": officer.name, "role": "officer", "active": "1",
                                                        "new_password": "Quiet-harbour-lantern-1987"})
    assert refused.status_code == 422 and "signs in with the agency's own account" in text(refused)
    db.session.expire_all()
    assert db.session.get(User, officer.id).password_hash == "!"


def test_a_person_in_no_mapped_group_is_refused_with_a_message(app: Flask, browser: Browser,
                                                               provider: Provider) -> None:
    sub = provider.person("Canteen Committee")
    response = agency_sign_in(browser, sub)
    assert response.status_code == 403
    assert "not in a group that may use this service" in text(response)
    assert account(provider, sub) is None
    refused = last_event("login.refused")
    assert "no group mapped" in refused.detail["reason"] and refused.detail["method"] == "agency sign-in"
    assert browser.get("/r/").status_code == 302  # no session


def test_someone_taken_out_of_the_groups_loses_every_login(app: Flask, provider: Provider) -> None:
    sub = provider.person(GROUPS["officer"])
    desk = Browser(app.test_client())
    agency_sign_in(desk, sub)
    assert desk.get("/r/").status_code == 200

    provider.set_groups(sub)  # left the Patrol Division
    car = Browser(app.test_client())
    response = agency_sign_in(car, sub)
    assert response.status_code == 403
    user = account(provider, sub)
    assert user is not None and logins_of(user) == 0
    assert desk.get("/r/").status_code == 302  # the desk's login ended too


def test_a_disabled_account_is_refused(app: Flask, browser: Browser, provider: Provider) -> None:
    sub = provider.person(GROUPS["officer"])
    agency_sign_in(Browser(app.test_client()), sub)
    user = account(provider, sub)
    assert user is not None and logins_of(user) == 1
    accounts.update_user(user, role=user.role, organisation=None, active=False, name=user.name)  # an admin
    db.session.commit()
    response = agency_sign_in(browser, sub)
    assert response.status_code == 403 and "disabled" in text(response)
    assert logins_of(user) == 0


# --- what the callback must not accept -------------------------------------------------------

@pytest.mark.parametrize(("mode", "words"), [
    ({"audience": "records-system"}, "it was issued for another application"),
    ({"expired": True}, "it had expired"),
    ({"bad_signature": True}, "its signature does not match the provider's published keys"),
    ({"nonce": "a-nonce-from-another-sign-in"}, "it does not belong to this sign-in"),
])
def test_an_id_token_that_cannot_be_trusted_is_refused(app: Flask, browser: Browser, provider: Provider,
                                                       mode: dict[str, Any], words: str) -> None:
    sub = provider.person(GROUPS["admin"])
    provider.misbehave(**mode)
    before = refusals()
    response = agency_sign_in(browser, sub)
    assert response.status_code == 401, text(response)
    assert "could not be trusted" in text(response) and words in text(response)
    assert account(provider, sub) is None
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert refusals() == before + 1 and "ID token refused" in last_event("login.refused").detail["reason"]
    assert browser.get("/admin/").status_code == 302


def test_a_replayed_callback_is_refused(app: Flask, provider: Provider) -> None:
    sub = provider.person(GROUPS["officer"])
    officer = Browser(app.test_client())
    callback = at_provider(start(officer), sub)
    assert officer.get(local(callback)).status_code == 302
    user = account(provider, sub)
    assert user is not None and logins_of(user) == 1

    # The same answer again, in the same browser (the state left its session) or in another.
    for replay in (officer, Browser(app.test_client())):
        response = replay.get(local(callback))
        assert response.status_code == 401, text(response)
        assert "used already" in text(response)
    assert logins_of(user) == 1
    assert "state" in last_event("login.refused").detail["reason"]

    # A refused answer replayed in the browser that got it (its session kept, unlike a signed-in
    # one's, which starts afresh): the state went with the first use.
    outsider = provider.person("Canteen Committee")
    refused = Browser(app.test_client())
    refused_callback = at_provider(start(refused), outsider)
    assert refused.get(local(refused_callback)).status_code == 403
    again = refused.get(local(refused_callback))
    assert again.status_code == 401 and "used already" in text(again)

    # A state this browser never started (another browser's answer, forged links) is no better.
    attacker = Browser(app.test_client())
    their_callback = at_provider(start(attacker), sub)
    victim = Browser(app.test_client())
    victim.get("/login/agency")  # a sign-in of its own under way
    assert victim.get(local(their_callback)).status_code == 401
    assert victim.get("/r/").status_code == 302


def test_pressing_the_button_again_and_again(app: Flask, browser: Browser, provider: Provider) -> None:
    """Each sign-in started waits in the session cookie; a dozen must not push it past 4 KB."""
    sub = provider.person(GROUPS["officer"])
    first = start(browser)
    for _ in range(12):
        last = start(browser)
    cookie = browser.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None and len(cookie.value) < 2500
    # The oldest of them is forgotten (its answer refused), the newest goes through.
    assert browser.get(local(at_provider(first, sub))).status_code == 401
    assert browser.get(local(at_provider(last, sub))).status_code == 302


def test_the_provider_saying_no_is_shown(app: Flask, browser: Browser) -> None:
    start(browser)
    response = browser.get("/login/agency/callback?error=access_denied&error_description=The+user+cancelled")
    assert response.status_code == 401 and "The user cancelled" in text(response)


# --- the provider's second factor -------------------------------------------------------------

def test_required_amr_missing_is_refused(app_config: dict[str, Any], request: pytest.FixtureRequest,
                                         provider: Provider) -> None:
    app_config["OIDC_REQUIRED_AMR"] = ["mfa", "hwk"]
    app_config["TWO_FACTOR_REQUIRED_ROLES"] = ["admin"]
    app: Flask = request.getfixturevalue("app")
    password_only = provider.person(GROUPS["admin"], amr=("pwd",))
    response = agency_sign_in(Browser(app.test_client()), password_only)
    assert response.status_code == 403 and "did not use the second factor" in text(response)
    assert account(provider, password_only) is None
    assert "amr ['pwd']" in last_event("login.refused").detail["reason"]

    # With the provider's MFA, an administrator is in without a local TOTP key.
    with_mfa = provider.person(GROUPS["admin"], amr=("pwd", "mfa"))
    admin = Browser(app.test_client())
    response = agency_sign_in(admin, with_mfa)
    assert response.headers["Location"] == "/admin/"
    assert admin.get("/admin/").status_code == 200
    page = admin.get("/account/two-factor")  # and has none to manage here
    assert "Your second factor is your agency account's" in text(page)
    assert 'name="code"' not in page.get_data(as_text=True)
    assert admin.get("/login/agency").headers["Location"] == "/admin/"  # signed in already


def test_without_a_required_amr_admins_still_enrol_totp(app_config: dict[str, Any],
                                                        request: pytest.FixtureRequest, provider: Provider) -> None:
    app_config["TWO_FACTOR_REQUIRED_ROLES"] = ["admin"]
    app: Flask = request.getfixturevalue("app")
    admin = Browser(app.test_client())
    response = agency_sign_in(admin, provider.person(GROUPS["admin"], amr=("pwd",)))
    assert response.headers["Location"] == "/account/two-factor"
    assert admin.get("/admin/").headers["Location"] == "/account/two-factor"


def test_required_acr_is_asked_for_and_checked(app_config: dict[str, Any], request: pytest.FixtureRequest,
                                               provider: Provider) -> None:
    app_config["OIDC_REQUIRED_ACR"] = ["urn:test:loa:2"]
    app: Flask = request.getfixturevalue("app")
    browser = Browser(app.test_client())
    assert parse_qs(urlsplit(start(browser)).query)["acr_values"] == ["urn:test:loa:2"]
    weak = provider.person(GROUPS["officer"], acr="urn:test:loa:1")
    assert agency_sign_in(browser, weak).status_code == 403
    strong = provider.person(GROUPS["officer"], acr="urn:test:loa:2")
    assert agency_sign_in(Browser(app.test_client()), strong).status_code == 302


# --- local passwords, linking, signing out ------------------------------------------------------

def test_staff_passwords_stop_when_agency_sign_in_is_on(app: Flask, make_user: Any, make_organisation: Any) -> None:
    officer = make_user(Role.OFFICER)
    partner = make_user(Role.PARTNER, organisation=make_organisation())
    db.session.commit()
    assert Browser(app.test_client()).login(officer).status_code == 401
    assert last_event("login.refused").detail["reason"] == "staff sign in with the agency account"
    assert Browser(app.test_client()).login(partner).status_code == 302  # partners keep passwords
    page = text(Browser(app.test_client()).get("/login"))
    assert "Sign in with Test Police" in page and 'href="/login/agency"' in page


def test_staff_passwords_when_the_setting_allows(app_config: dict[str, Any], request: pytest.FixtureRequest) -> None:
    app_config["OIDC_STAFF_LOCAL_PASSWORDS"] = True
    request.getfixturevalue("app")
    officer = request.getfixturevalue("make_user")(Role.OFFICER)
    db.session.commit()
    assert request.getfixturevalue("browser").login(officer).status_code == 302


def test_without_an_issuer_nothing_changes(app_config: dict[str, Any], request: pytest.FixtureRequest) -> None:
    for key in list(app_config):
        if key.startswith("OIDC_"):
            del app_config[key]
    app: Flask = request.getfixturevalue("app")
    officer = request.getfixturevalue("make_user")(Role.OFFICER)
    db.session.commit()
    browser = Browser(app.test_client())
    assert "Sign in with" not in text(browser.get("/login"))
    assert browser.get("/login/agency").status_code == 404
    assert browser.get("/login/agency/callback?code=x&state=y").status_code == 404
    assert browser.login(officer).status_code == 302


def test_an_existing_staff_account_is_linked_a_partner_is_not(app: Flask, make_user: Any, make_organisation: Any,
                                                             provider: Provider) -> None:
    officer = make_user(Role.OFFICER, email="j.smith@police.example")
    partner = make_user(Role.PARTNER, organisation=make_organisation(), email="imam@police.example")
    db.session.commit()
    sub = provider.person(GROUPS["planner"], email="J.Smith@police.example")
    assert agency_sign_in(Browser(app.test_client()), sub).status_code == 302
    db.session.expire_all()
    assert officer.identity_subject == sub and officer.role == Role.PLANNER.value
    assert officer.password_hash == "!"

    response = agency_sign_in(Browser(app.test_client()), provider.person(GROUPS["admin"], email=partner.email))
    assert response.status_code == 403 and "already belongs to another account" in text(response)
    db.session.expire_all()
    assert partner.role == Role.PARTNER.value and partner.identity_subject is None


def test_sign_out_ends_the_login_and_offers_the_providers(app: Flask, browser: Browser, provider: Provider) -> None:
    sub = provider.person(GROUPS["officer"])
    agency_sign_in(browser, sub)
    user = account(provider, sub)
    assert user is not None
    browser.get("/account/password")
    response = browser.post("/logout")
    assert response.status_code == 200
    assert logins_of(user) == 0 and browser.get("/r/").status_code == 302
    link = re.search(r'id="agency-sign-out"[^>]*href="([^"]+)"', response.get_data(as_text=True))
    assert link, text(response)
    url = link.group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{provider.issuer}/session/end")
    assert query["client_id"] == [CLIENT_ID] and query["post_logout_redirect_uri"] == [f"{APP}/login"]
    with requests.Session() as http:
        assert http.get(url, timeout=10).status_code == 200  # the provider's own sign-out page


def test_a_provider_that_does_not_answer(app_config: dict[str, Any], request: pytest.FixtureRequest) -> None:
    app_config["OIDC_ISSUER"] = f"http://127.0.0.1:{_free_port()}"
    app: Flask = request.getfixturevalue("app")
    response = Browser(app.test_client()).get("/login/agency")
    assert response.status_code == 503 and "did not answer" in text(response)
    assert "unreachable" in last_event("login.refused").detail["reason"]


@pytest.mark.parametrize(("settings", "words"), [
    ({"OIDC_CLIENT_ID": None}, "FLOORPLANS_OIDC_CLIENT_ID"),
    ({"OIDC_GROUPS_OFFICER": [], "OIDC_GROUPS_PLANNER": [], "OIDC_GROUPS_ADMIN": []}, "map at least one"),
    ({"OIDC_ISSUER": "login.example"}, "issuer URL"),
    ({"OIDC_CLOCK_SKEW_SECONDS": -1}, "OIDC_CLOCK_SKEW_SECONDS"),
])
def test_wrong_settings_stop_the_app(app_config: dict[str, Any], settings: dict[str, Any], words: str) -> None:
    with pytest.raises(SettingError, match=words):
        create_app({**app_config, **settings})


# --- the same through a real browser ------------------------------------------------------------

@pytest.fixture(scope="module")
def live_app(provider: Provider, tmp_path_factory: pytest.TempPathFactory,
             sqlite_template: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("oidc-live")
    shutil.copyfile(sqlite_template, folder / "db.sqlite3")
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "STORAGE_URL": str(folder / "storage"),
        "SECRET_KEY": "oidc-browser-test", "TWO_FACTOR_REQUIRED_ROLES": [],
        **agency_settings(provider), "OIDC_REQUIRED_AMR": ["mfa"],
    })
    try:
        with serving(app, provider.live_port) as url:
            yield url
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.browser
def test_sign_in_and_out_in_chromium(chromium: Any, live_app: str, provider: Provider) -> None:
    provider.misbehave()
    officer = provider.person(GROUPS["officer"])
    outsider = provider.person("Canteen Committee")
    context = chromium.new_context(locale="en-CA")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{live_app}/r/")  # signed out: the sign-in page, which offers the agency's
        page.click("#agency-sign-in")
        page.wait_for_url(f"{provider.issuer}/interaction/**")
        page.fill("#username", officer)
        page.fill("#password", PROVIDER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_app}/r/")  # back where the officer was going, signed in

        page.click("form[action='/logout'] button")  # the in-car view clears its offline copies first
        page.wait_for_url(f"{live_app}/logout")
        assert "You are signed out" in page.inner_text("h1")
        page.click("#agency-sign-out")
        page.wait_for_url(f"{provider.issuer}/session/end**")
        page.click("button[name=logout][value=yes]")
        page.wait_for_url(f"{live_app}/login**")
        # Signed out at the provider too: the next agency sign-in asks who it is again.
        page.click("#agency-sign-in")
        page.wait_for_url(f"{provider.issuer}/interaction/**")
        page.fill("#username", outsider)
        page.fill("#password", PROVIDER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_app}/login/agency/callback**")
        assert "not in a group that may use this service" in page.inner_text("[role=alert]")
        page.goto(f"{live_app}/r/")
        page.wait_for_url(f"{live_app}/login**")
    finally:
        context.close()
