"""API bearer tokens (issue 15, item 2): they count under /api/ only, never change an account,
die with a password change or a disabled account, can be revoked one by one (command line,
admin page, API), may expire and may be read-only; "last used" is written at most once a
minute, in a transaction of its own."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from typing import Any

import pyotp
import pytest
from flask import Blueprint, Flask
from flask_login import current_user
from sqlalchemy import select, update

from floorplans import objects
from floorplans.auth import csrf, declared_permission, permission
from floorplans.db import db, utcnow
from floorplans.errors import InvalidInput
from floorplans.models import ApiToken, Building, LoginSession, PlanPage, PlanVersion, Role, User, VersionState
from floorplans.permissions import Permission
from floorplans.services import accounts, login, tokens
from tests.conftest import Browser
from tests.security.conftest import Clock, audit_events

NEW_PASSWORD = "velvet quarry lantern oboe 1957"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_token(user: User, label: str = "CAD", **options: Any) -> str:
    token = tokens.create_token(user, label, **options)
    db.session.commit()
    return token


def token_row(token: str) -> ApiToken:
    db.session.expire_all()
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(token)))


def works(app: Flask, token: str) -> int:
    """The status of a plain API read with the token: 200 while it works, 401 after."""
    return app.test_client().get("/api/v1/buildings", headers=bearer(token)).status_code


def accounts_state() -> list[Any]:
    """Every column of every account, token (but its last use) and login session."""
    db.session.expire_all()
    users = [tuple(row) for row in db.session.execute(select(User.__table__).order_by(User.id))]
    token_columns = [c for c in ApiToken.__table__.columns if c.key != "last_used_at"]
    api_tokens = [tuple(row) for row in db.session.execute(select(*token_columns).order_by(ApiToken.id))]
    sessions = [tuple(row) for row in db.session.execute(select(LoginSession.__table__).order_by(LoginSession.id))]
    return [users, api_tokens, sessions]


@pytest.fixture
def token_clock(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The trust tests' clock, read by the token service too."""
    monkeypatch.setattr(tokens, "utcnow", clock)
    return clock


# --- only under /api/ ------------------------------------------------------------------

def test_an_admins_token_is_anonymous_on_every_web_page(app: Flask, make_user) -> None:
    admin = make_user(Role.ADMIN)
    headers = bearer(new_token(admin))
    client = app.test_client()
    web_rules = [r for r in app.url_map.iter_rules() if not r.rule.startswith("/api/")
                 and declared_permission(app, r.endpoint) is not Permission.PUBLIC]
    pages = [r for r in web_rules if "GET" in r.methods and r.endpoint.startswith("admin.")]
    assert len(pages) >= 8
    for rule in web_rules:
        url = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(url, method=method, headers=headers)
            assert response.status_code in (302, 400), f"{method} {url}: {response.status_code}"
            if response.status_code == 302:  # 400: a form refused for its missing CSRF token first
                assert response.location.startswith("/login"), f"{method} {url}: {response.location}"
    # A token is not even read there: a wrong one leaves no "token.rejected" event.
    client.get("/admin/", headers=bearer("fpt_wrongwrongwrong"))
    assert audit_events("token.rejected") == []


def test_an_admins_token_cannot_create_an_account_through_the_web_form(app: Flask, make_user) -> None:
    admin = make_user(Role.ADMIN)
    attacker = Browser(app.test_client())
    attacker.get("/login")  # a CSRF token any visitor can get, bound to the attacker's own cookie
    assert attacker.csrf_token
    headers = bearer(new_token(admin))
    form = {"email": "mallory@example.org", "role": "admin", "password": NEW_PASSWORD}
    response = attacker.post("/admin/users", form, headers=headers)
    assert response.status_code == 302 and response.location.startswith("/login?next=/admin/users")
    assert attacker.get("/admin/users", headers=headers).location.startswith("/login")
    assert db.session.scalar(select(User).where(User.email == "mallory@example.org")) is None
    assert audit_events("account.create") == []


def test_a_web_page_uses_the_browsers_own_session_never_the_token(app: Flask, make_user, browser_for) -> None:
    officer_browser = browser_for(make_user(Role.OFFICER))
    admin_token = bearer(new_token(make_user(Role.ADMIN)))
    response = officer_browser.get("/admin/users", headers=admin_token)
    assert response.status_code == 403  # the officer, signed in; not the administrator of the token
    # On the API the explicit token wins over the cookie, as before.
    assert officer_browser.client.get("/api/v1/tokens", headers=admin_token).get_json()["tokens"][0]["current"]


def test_an_officers_token_cannot_turn_on_two_factor(app: Flask, make_user) -> None:
    officer = make_user(Role.OFFICER)
    headers = bearer(new_token(officer))
    attacker = Browser(app.test_client())
    page = attacker.get("/account/two-factor", headers=headers)
    assert page.status_code == 302 and page.location.startswith("/login")  # no key handed out
    attacker.get("/login")
    attacker_key = pyotp.random_base32()
    with attacker.client.session_transaction() as session:
        session["totp_enrolment"] = attacker_key  # even with the key planted in the cookie
    response = attacker.post("/account/two-factor", {"action": "enable", "code": pyotp.TOTP(attacker_key).now()},
                             headers=headers)
    assert response.status_code == 302 and response.location.startswith("/login")
    for url, form in (("/account/password", {"current_password": "x", "new_password": NEW_PASSWORD,
                                             "confirm_password": NEW_PASSWORD}),
                      ("/logout", {})):
        assert attacker.post(url, form, headers=headers).location.startswith("/login")
    db.session.expire_all()
    assert not db.session.get(User, officer.id).has_two_factor
    assert audit_events("two_factor.enable") == [] and audit_events("password.change") == []
    assert works(app, headers["Authorization"].removeprefix("Bearer ")) == 200


def test_no_api_route_changes_an_account_with_a_token(app: Flask, make_user, make_building) -> None:
    """Every API route, every method, as an officer and as an administrator, with a body full of
    account fields: no account, password, two-factor key, role, token or login changes."""
    make_building()
    officer, admin = make_user(Role.OFFICER), make_user(Role.ADMIN)
    token_ids = {}
    for user in (officer, admin):
        token_ids[user.id] = new_token(user)
    before = accounts_state()
    body = {"email": "mallory@example.org", "role": "admin", "active": True, "password": NEW_PASSWORD,
            "new_password": NEW_PASSWORD, "totp_secret": pyotp.random_base32(), "code": "123456",
            "action": "enable", "read_only": False, "expires_at": None, "label": "mine now"}
    client = app.test_client()
    tried = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint == "api.revoke_token":  # revoking is allowed
            continue
        url = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for token in token_ids.values():
                client.open(url, method=method, headers=bearer(token), json=body).close()
                tried += 1
    assert tried >= 50
    assert accounts_state() == before


@pytest.fixture
def sneaky_api(app: Flask) -> str:
    """A route a future change might add to the API, changing an account for its caller: the
    guard must hold it whatever it does (registered before the app's first request)."""
    sneaky = Blueprint("sneaky", __name__)

    @sneaky.post("/<what>")
    @permission(Permission.SIGNED_IN)
    def change(what: str) -> dict[str, str]:
        user = db.session.get(User, current_user.id)
        if what == "password":
            accounts.set_password(user, NEW_PASSWORD)
        elif what == "two-factor":
            secret = pyotp.random_base32()
            login.enable_two_factor(user, secret, pyotp.TOTP(secret).now())
        elif what == "role":
            user.role = Role.ADMIN.value
        elif what == "token":
            tokens.create_token(user, "attacker's own")
        elif what == "bulk":
            db.session.execute(update(User).where(User.id == user.id).values(role=Role.ADMIN.value))
        db.session.commit()
        return {"done": what}

    csrf.exempt(sneaky)
    app.register_blueprint(sneaky, url_prefix="/api/sneaky")
    return "/api/sneaky"


def test_even_an_api_route_cannot_change_an_account_with_a_token(app: Flask, make_user, browser_for,
                                                                 sneaky_api: str) -> None:
    officer = make_user(Role.OFFICER)
    headers = bearer(new_token(officer))
    before = accounts_state()
    client = app.test_client()
    for what in ("password", "two-factor", "role", "token", "bulk"):
        response = client.post(f"{sneaky_api}/{what}", headers=headers)
        assert response.status_code == 403, (what, response.status_code)
        assert "cannot change accounts, passwords, two-factor" in response.get_json()["error"]
    assert accounts_state() == before
    # The same route in a signed-in browser (a person, with the password and their second factor) works.
    browser = browser_for(officer)
    response = browser.client.post(f"{sneaky_api}/role", headers={"X-CSRFToken": browser.csrf_token})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, officer.id).role == Role.ADMIN.value


# --- tokens die with the password and the account ----------------------------------------

def test_a_password_set_by_an_admin_ends_the_users_tokens(app: Flask, make_user, browser_for) -> None:
    officer = make_user(Role.OFFICER)
    token = new_token(officer)
    assert works(app, token) == 200
    admin = browser_for(make_user(Role.ADMIN))
    response = admin.post(f"/admin/users/{officer.id}", {"role": "officer", "active": "1", "name": "",
                                                          "new_password": NEW_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    answer = app.test_client().get("/api/v1/buildings", headers=bearer(token))
    assert answer.status_code == 401 and "password changed" in answer.get_json()["error"]
    (revoked,) = audit_events("token.revoke")
    assert revoked.detail["reason"] == "password changed" and revoked.actor_role == "admin"
    assert token_row(token).revoked_reason == "password changed"
    # The admin's password is temporary: no token until its owner has chosen their own.
    with pytest.raises(InvalidInput, match="temporary password"):
        new_token(officer)
    owner = Browser(app.test_client())
    owner.login(officer.email, NEW_PASSWORD)
    assert owner.post("/account/password", {"current_password": NEW_PASSWORD, "new_password": NEW_PASSWORD + " own",
                                            "confirm_password": NEW_PASSWORD + " own"}).status_code == 302
    db.session.expire_all()
    assert works(app, new_token(officer)) == 200  # a token made after the change works


def test_the_users_own_password_change_ends_their_tokens(app: Flask, make_user, browser_for) -> None:
    from tests.conftest import PASSWORD

    officer = make_user(Role.OFFICER)
    token = new_token(officer)
    browser = browser_for(officer)
    response = browser.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                  "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert works(app, token) == 401


def test_a_password_set_without_revoking_still_ends_older_tokens(app: Flask, make_user, token_clock) -> None:
    """Any path that changes the password (one that forgets to revoke, a restore): a token older
    than the account's password does not work."""
    officer = make_user(Role.OFFICER)
    token = new_token(officer)
    token_clock.advance(seconds=5)
    officer.password_changed_at = token_clock()
    db.session.commit()
    assert works(app, token) == 401
    assert audit_events("token.rejected")[-1].detail["reason"] == "password changed"


def test_disabling_an_account_ends_its_tokens_for_good(app: Flask, make_user, browser_for) -> None:
    partner = make_user(Role.PARTNER)
    token = new_token(partner)
    admin = browser_for(make_user(Role.ADMIN))
    form = {"role": "partner", "organisation_id": str(partner.organisation_id), "name": ""}
    assert admin.post(f"/admin/users/{partner.id}", form).status_code == 302  # "active" unticked
    assert works(app, token) == 401
    assert admin.post(f"/admin/users/{partner.id}", {**form, "active": "1"}).status_code == 302
    assert works(app, token) == 401  # enabling the account again does not revive it
    assert token_row(token).revoked_reason == "account disabled"


# --- revocation of one token -------------------------------------------------------------

def test_revoke_from_the_command_line_by_prefix_or_id(app: Flask, runner, make_user) -> None:
    officer = make_user(Role.OFFICER)
    first, second = new_token(officer, "CAD east"), new_token(officer, "CAD west")
    listing = runner.invoke(args=["tokens", "list", "--email", officer.email])
    assert listing.exit_code == 0
    assert first[:10] in listing.output and "CAD east" in listing.output and "active" in listing.output
    assert first not in listing.output and first[10:20] not in listing.output  # never the secret
    result = runner.invoke(args=["tokens", "revoke", "--prefix", first[:10]])
    assert result.exit_code == 0, result.output
    assert f"Revoked token {first[:10]}" in result.output
    assert works(app, first) == 401 and works(app, second) == 200
    result = runner.invoke(args=["tokens", "revoke", "--id", str(token_row(second).id)])
    assert result.exit_code == 0 and works(app, second) == 401
    assert [e.detail["reason"] for e in audit_events("token.revoke", channel="cli")] == [tokens.BY_OPERATOR] * 2
    again = runner.invoke(args=["tokens", "revoke", "--prefix", first[:10]])
    assert again.exit_code == 1 and "already revoked" in again.output
    unknown = runner.invoke(args=["tokens", "revoke", "--prefix", "fpt_zzzzzz"])
    assert unknown.exit_code == 1 and "No token starts with fpt_zzzzzz" in unknown.output
    assert runner.invoke(args=["tokens", "revoke"]).exit_code == 2  # --prefix or --id, not neither
    listing = runner.invoke(args=["tokens", "list", "--email", officer.email])
    assert listing.output.count("revoked") == 2


def test_an_admin_revokes_one_token_from_the_accounts_page(app: Flask, make_user, browser_for, token_clock) -> None:
    officer = make_user(Role.OFFICER)
    cad = new_token(officer, "CAD integration", read_only=True, expires_in=dt.timedelta(days=90))
    script = new_token(officer, "nightly export")
    assert works(app, cad) == 200
    admin = browser_for(make_user(Role.ADMIN))
    page = admin.get(f"/admin/users/{officer.id}").get_data(as_text=True)
    for shown in (cad[:10], script[:10], "CAD integration", "nightly export", "read-only", "read-write"):
        assert shown in page
    assert cad not in page and token_row(cad).token_hash not in page
    assert page.count(">Revoke</button>") == 2
    response = admin.post(f"/admin/users/{officer.id}/tokens/{token_row(cad).id}/revoke")
    assert response.status_code == 302 and response.location == f"/admin/users/{officer.id}"
    assert works(app, cad) == 401 and works(app, script) == 200
    (event,) = audit_events("token.revoke")
    assert event.actor_role == "admin" and event.detail["prefix"] == cad[:10]
    assert event.detail["reason"] == tokens.BY_ADMIN and event.channel == "web"
    page = admin.get(f"/admin/users/{officer.id}").get_data(as_text=True)
    assert page.count(">Revoke</button>") == 1 and tokens.BY_ADMIN in page
    # Another account's token through this account's page: not found.
    other = make_user(Role.OFFICER)
    assert admin.post(f"/admin/users/{other.id}/tokens/{token_row(script).id}/revoke").status_code == 404
    assert works(app, script) == 200


def test_the_api_lists_and_revokes_the_callers_own_tokens(app: Flask, make_user) -> None:
    partner, other_partner, admin = make_user(Role.PARTNER), make_user(Role.PARTNER), make_user(Role.ADMIN)
    mine, spare = new_token(partner, "script"), new_token(partner, "spare", read_only=True)
    theirs = new_token(other_partner, "their CAD")
    client = app.test_client()
    listed = client.get("/api/v1/tokens", headers=bearer(mine)).get_json()["tokens"]
    assert [(t["prefix"], t["label"], t["scope"], t["status"], t["current"]) for t in listed] == [
        (spare[:10], "spare", "read-only", "active", False), (mine[:10], "script", "read-write", "active", True)]
    assert set(listed[0]) == {"id", "prefix", "label", "scope", "status", "created_at", "last_used_at",
                              "expires_at", "revoked_at", "revoked_reason", "current"}
    body = client.get("/api/v1/tokens", headers=bearer(mine)).get_data(as_text=True)
    assert mine not in body and spare not in body and theirs[:10] not in body
    assert token_row(mine).token_hash not in body
    # Another partner's token: "not found", and it keeps working.
    response = client.delete(f"/api/v1/tokens/{token_row(theirs).id}", headers=bearer(mine))
    assert response.status_code == 404 and works(app, theirs) == 200
    # One's own.
    assert client.delete(f"/api/v1/tokens/{listed[0]['id']}", headers=bearer(mine)).status_code == 204
    assert works(app, spare) == 401 and works(app, mine) == 200
    again = client.delete(f"/api/v1/tokens/{listed[0]['id']}", headers=bearer(mine))
    assert again.status_code == 409 and "already revoked" in again.get_json()["error"]
    # An administrator revokes anyone's.
    assert client.delete(f"/api/v1/tokens/{token_row(theirs).id}", headers=bearer(new_token(admin))).status_code == 204
    assert works(app, theirs) == 401
    reasons = [(e.actor_email, e.detail["reason"]) for e in audit_events("token.revoke", channel="api")]
    assert reasons == [(partner.email, tokens.BY_OWNER), (admin.email, tokens.BY_ADMIN)]
    # Revoking the token in use ends it for the next request.
    assert client.delete(f"/api/v1/tokens/{token_row(mine).id}", headers=bearer(mine)).status_code == 204
    assert works(app, mine) == 401


# --- expiry and the read-only scope ------------------------------------------------------

def test_an_expired_token_is_refused_and_recorded(app: Flask, runner, make_user, token_clock) -> None:
    officer = make_user(Role.OFFICER)
    result = runner.invoke(args=["tokens", "create", "--email", officer.email, "--expires-days", "90"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("fpt_") and "\n" not in token
    assert token_row(token).expires_at == token_row(token).created_at + dt.timedelta(days=90)
    token_clock.advance(days=89, hours=23)
    assert works(app, token) == 200
    token_clock.advance(hours=1)
    response = app.test_client().get("/api/v1/buildings", headers=bearer(token))
    assert response.status_code == 401
    assert re.search(r"expired on \d{4}-\d\d-\d\d \d\d:\d\d UTC", response.get_json()["error"])
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    (rejected,) = audit_events("token.rejected")
    assert rejected.detail == {"email": officer.email, "prefix": token[:10], "reason": "expired"}
    for days in ("0", "-3", "100000"):
        refused = runner.invoke(args=["tokens", "create", "--email", officer.email, "--expires-days", days])
        assert refused.exit_code == 1 and "expires_days: must be between 1 and 3650 days" in refused.output


def test_a_revoked_token_is_refused_and_recorded_like_an_expired_one(app: Flask, make_user) -> None:
    officer = make_user(Role.OFFICER)
    token = new_token(officer)
    tokens.revoke_token(token_row(token), reason=tokens.BY_ADMIN)
    db.session.commit()
    assert works(app, token) == 401
    (rejected,) = audit_events("token.rejected")
    assert rejected.detail == {"email": officer.email, "prefix": token[:10], "reason": "revoked"}
    assert rejected.target_type and rejected.target_id == token_row(token).id


def test_a_read_only_token_reads_and_changes_nothing(app: Flask, runner, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    result = runner.invoke(args=["tokens", "create", "--email", partner.email, "--read-only", "--label", "CAD"])
    headers = bearer(result.output.strip())
    client = app.test_client()
    assert client.get("/api/v1/buildings", headers=headers).status_code == 200
    record = client.get(f"/api/v1/buildings/{building.id}", headers=headers)
    assert record.status_code == 200
    writes = [("POST", "/api/v1/buildings", {"name": "New hall"}),
              ("PATCH", f"/api/v1/buildings/{building.id}", {"name": "Renamed"}),
              ("POST", f"/api/v1/buildings/{building.id}/verify", None),
              ("POST", f"/api/v1/buildings/{building.id}/contacts", {"name": "Caretaker", "phone": "416-555-0100"}),
              ("DELETE", f"/api/v1/tokens/{token_row(result.output.strip()).id}", None)]
    for method, url, body in writes:
        response = client.open(url, method=method, headers=headers, json=body)
        assert response.status_code == 403, (method, url, response.status_code)
        assert "may only read (GET)" in response.get_json()["error"]
    db.session.expire_all()
    assert db.session.get(Building, building.id).name == building.name
    assert db.session.scalar(select(Building).where(Building.name == "New hall")) is None
    # The same account's ordinary token may write.
    assert client.patch(f"/api/v1/buildings/{building.id}", headers=bearer(new_token(partner)),
                        json={"name": "Renamed"}).status_code == 200


# --- "last used" -------------------------------------------------------------------------

def test_last_used_is_written_at_most_once_a_minute(app: Flask, make_user, token_clock) -> None:
    officer = make_user(Role.OFFICER)
    token = new_token(officer)
    assert token_row(token).last_used_at is None
    assert works(app, token) == 200
    first = token_row(token).last_used_at
    assert first is not None and abs(first - token_clock()) < dt.timedelta(seconds=5)
    token_clock.advance(seconds=59)
    assert works(app, token) == 200 and token_row(token).last_used_at == first
    token_clock.advance(seconds=2)
    assert works(app, token) == 200 and token_row(token).last_used_at > first


def test_last_used_is_kept_when_the_request_fails(app: Flask, make_user, make_building) -> None:
    """Written in a transaction of its own: a request that is rolled back (a 422 here) keeps it."""
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation)
    token = new_token(partner)
    response = app.test_client().patch(f"/api/v1/buildings/{building.id}", headers=bearer(token),
                                       json={"name": ""})
    assert response.status_code == 422
    assert token_row(token).last_used_at is not None


def test_a_busy_database_never_fails_a_request_for_last_used(app: Flask, make_user, database_url: str) -> None:
    """Another process holds SQLite's write lock (a long render, before issue 15's fix): the
    token's read still answers; only its "last used" time is skipped, after a second."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock; PostgreSQL locks rows (lock_timeout bounds it)")
    officer = make_user(Role.OFFICER)
    token = new_token(officer)
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        response = app.test_client().get("/api/v1/tokens", headers=bearer(token))
        assert response.status_code == 200
        assert response.get_json()["tokens"][0]["last_used_at"] is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert works(app, token) == 200 and token_row(token).last_used_at is not None


# --- tiles for API clients ---------------------------------------------------------------

def test_api_clients_get_tiles_under_the_api_and_not_elsewhere(app: Flask, make_user, make_building) -> None:
    building = make_building()
    version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=1,
                          pages=[PlanPage(number=1, position=1, label="Ground", width=256, height=256,
                                          tile_size=256, max_zoom=0)])
    db.session.add(version)
    db.session.flush()
    objects.get_storage().put(objects.tile_key(version.key, 1, 0, 0, 0), b"RIFF-tile")
    objects.get_storage().put(objects.overview_key(version.key, 1), b"RIFF-overview")
    building.published_version = version
    version.published_at = utcnow()
    db.session.commit()
    headers = bearer(new_token(make_user(Role.OFFICER)))
    client = app.test_client()
    page = client.get(f"/api/v1/buildings/{building.id}", headers=headers).get_json()["plan"]["pages"][0]
    assert page["tile_url"].startswith("/api/v1/tiles/") and page["overview_url"].startswith("/api/v1/tiles/")
    tile = client.get(page["tile_url"].format(z=0, x=0, y=0), headers=headers)
    assert tile.data == b"RIFF-tile" and "immutable" in tile.headers["Cache-Control"]
    assert client.get(page["overview_url"], headers=headers).data == b"RIFF-overview"
    assert client.get(page["tile_url"].format(z=0, x=0, y=0)).status_code == 401
    # The in-car view's tile route is a web page: the token does not count there.
    web = client.get(f"/r/tiles/{version.key}/1/0/0/0.webp", headers=headers)
    assert web.status_code == 302 and web.location.startswith("/login")
