"""Temporary passwords an administrator sets, invitations and forgot-password links: mail
through a real SMTP server (aiosmtpd on loopback), the pages through the test client."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from floorplans.db import db, utcnow
from floorplans.models import AccountLink, ApiToken, AuditEvent, LoginSession, Role, User
from floorplans.services import account_links
from tests.conftest import PASSWORD, Browser
from tests.floorplans import test_reminders
from tests.floorplans.test_reminders import Mailbox, _body

# The real SMTP server on loopback the reminders' tests use.
mailbox = test_reminders.mailbox
smtp_config = test_reminders.smtp_config

NEW_PASSWORD = "lantern orchard pebble violin"
OTHER_PASSWORD = "saffron glacier trumpet meadow"
LINK = re.compile(r"https://floorplans\.police\.example(/(?:invitation|password-reset)/[A-Za-z0-9_-]+)")


def link_in(box: Mailbox, address: str) -> str:
    """The path of the link in the last e-mail to ``address``."""
    messages = box.to(address)
    assert messages, f"no e-mail to {address}"
    match = LINK.search(_body(messages[-1]))
    assert match, _body(messages[-1])
    return match.group(1)


def actions(*names: str) -> list[str]:
    db.session.expire_all()
    return [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(names))
                                                 .order_by(AuditEvent.id))]


def fresh(user: User) -> User:
    db.session.expire_all()
    found = db.session.get(User, user.id)
    assert found is not None
    return found


# --- temporary passwords -------------------------------------------------------------------

def test_an_account_an_admin_creates_must_choose_its_own_password_first(app: Flask, make_user, browser_for) -> None:
    admin = browser_for(make_user(Role.ADMIN))
    response = admin.post("/admin/users", {"email": "new.officer@example.org", "name": "New Officer",
                                           "role": "officer", "password": OTHER_PASSWORD})
    assert response.status_code == 302
    officer = db.session.scalar(select(User).where(User.email == "new.officer@example.org"))
    assert officer is not None and officer.must_change_password

    person = Browser(app.test_client())
    person.get("/login")
    signed_in = person.post("/login", {"email": officer.email, "password": OTHER_PASSWORD})
    assert signed_in.status_code == 302
    for page in ("/", "/r/", "/account/two-factor"):
        held = person.get(page)
        assert held.status_code == 302 and held.headers["Location"].endswith("/account/password"), page
    assert person.get("/api/v1/buildings").status_code == 403  # the session on the API too
    form = person.get("/account/password")
    assert form.status_code == 200 and "set by an administrator" in form.get_data(as_text=True)
    changed = person.post("/account/password", {"current_password": OTHER_PASSWORD, "new_password": NEW_PASSWORD,
                                                "confirm_password": NEW_PASSWORD})
    assert changed.status_code == 302
    assert not fresh(officer).must_change_password
    assert person.get("/r/").status_code == 200


@pytest.fixture
def admins_use_two_factor(app_config: dict[str, Any]) -> None:
    app_config["TWO_FACTOR_REQUIRED_ROLES"] = ["admin"]  # the default (the tests' is none)


def test_an_administrator_with_a_temporary_password_changes_it_then_enrols(
    admins_use_two_factor: None, app: Flask, make_user
) -> None:
    """Two holds at once: the password first (the enrolment page waits), then two-factor."""
    admin = make_user(Role.ADMIN, must_change_password=True)
    person = Browser(app.test_client())
    person.get("/login")
    person.post("/login", {"email": admin.email, "password": PASSWORD})
    assert person.get("/admin/").headers["Location"].endswith("/account/password")
    assert person.get("/account/two-factor").headers["Location"].endswith("/account/password")
    assert person.get("/account/password").status_code == 200  # not sent on to enrol first
    changed = person.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                "confirm_password": NEW_PASSWORD})
    assert changed.status_code == 302
    assert person.get("/admin/").headers["Location"].endswith("/account/two-factor")
    assert person.get("/account/two-factor").status_code == 200


def test_an_admins_reset_is_temporary_too_and_gives_no_api_token(app: Flask, make_user, browser_for, runner) -> None:
    officer = make_user(Role.OFFICER)
    admin = browser_for(make_user(Role.ADMIN))
    response = admin.post(f"/admin/users/{officer.id}", {"name": "", "role": "officer", "active": "1",
                                                         "new_password": OTHER_PASSWORD})
    assert response.status_code == 302
    assert fresh(officer).must_change_password
    assert "temporary password" in admin.get("/admin/users").get_data(as_text=True)
    assert "Has a temporary password" in admin.get(f"/admin/users/{officer.id}").get_data(as_text=True)
    refused = runner.invoke(args=["tokens", "create", "--email", officer.email])
    assert refused.exit_code == 1 and "temporary password" in refused.output
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == officer.id)) is None


def test_flask_users_create_is_temporary_unless_permanent_and_the_demo_is_not(app: Flask, runner) -> None:
    result = runner.invoke(args=["users", "create", "--email", "t@example.org", "--role", "officer"])
    assert result.exit_code == 0 and "temporary" in result.output
    result = runner.invoke(args=["users", "create", "--email", "p@example.org", "--role", "officer", "--permanent"])
    assert result.exit_code == 0 and "temporary" not in result.output
    flags = dict(db.session.execute(select(User.email, User.must_change_password)).all())
    assert flags == {"t@example.org": True, "p@example.org": False}
    assert runner.invoke(args=["demo"]).exit_code == 0
    demo = db.session.scalars(select(User.must_change_password).where(User.email.like("%@demo.floorplans.local")))
    assert not any(demo)


# --- invitations ---------------------------------------------------------------------------

@pytest.fixture
def invited(smtp_config: Mailbox, app: Flask, make_user, make_organisation, browser_for):  # type: ignore[no-untyped-def]
    """An administrator invites a partner of a congregation through the admin page."""
    organisation = make_organisation("Grace Chapel")
    admin_user = make_user(Role.ADMIN, name="Dana Admin")
    admin = browser_for(admin_user)
    response = admin.post("/admin/invitations", {"email": "Ruth.Partner@Example.org", "name": "Ruth Partner",
                                                 "role": "partner", "organisation_id": str(organisation.id)})
    assert response.status_code == 302, response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "ruth.partner@example.org"))
    assert user is not None
    return {"admin": admin, "admin_user": admin_user, "user": user, "box": smtp_config, "organisation": organisation}


def test_an_invitation_lets_the_person_choose_their_password_once(invited, app: Flask) -> None:
    box, user = invited["box"], invited["user"]
    (message,) = box.to(user.email)
    assert "Grace Chapel" in message["Subject"] and "Dana Admin" in _body(message) and "72 hours" in _body(message)
    path = link_in(box, user.email)
    stored = db.session.scalar(select(AccountLink))
    assert stored is not None and path.rsplit("/", 1)[1] not in stored.token_hash  # only the hash is kept

    person = Browser(app.test_client())
    person.get("/login")
    assert person.post("/login", {"email": user.email, "password": "!"}).status_code == 401  # no password yet
    page = person.get(path)
    assert page.status_code == 200 and "Grace Chapel" in page.get_data(as_text=True)
    weak = person.post(path, {"password": "grace chapel", "confirm_password": "grace chapel"})
    assert weak.status_code == 422 and "Password:" in weak.get_data(as_text=True)
    mismatch = person.post(path, {"password": NEW_PASSWORD, "confirm_password": OTHER_PASSWORD})
    assert mismatch.status_code == 422
    accepted = person.post(path, {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "two_factor": "1"})
    assert accepted.status_code == 302 and accepted.headers["Location"].startswith("/login")
    assert "two-factor" in accepted.headers["Location"]  # offered (ticked by default): its page after signing in
    assert person.login(user.email, NEW_PASSWORD).status_code == 302
    assert person.get("/portal/").status_code == 200
    assert not fresh(user).must_change_password

    used = Browser(app.test_client()).get(path)
    assert used.status_code == 404 and "This link does not work" in used.get_data(as_text=True)
    assert actions("invitation.send", "invitation.accept") == ["invitation.send", "invitation.accept"]
    listing = invited["admin"].get("/admin/invitations").get_data(as_text=True)
    assert "ruth.partner@example.org" in listing and "accepted" in listing


def test_two_factor_is_offered_not_imposed(invited, app: Flask) -> None:
    path = link_in(invited["box"], invited["user"].email)
    person = Browser(app.test_client())
    person.get(path)
    accepted = person.post(path, {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})  # box unticked
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/login"


def test_a_wrong_expired_resent_or_withdrawn_link_gets_one_answer(invited, app: Flask) -> None:
    box, user, admin = invited["box"], invited["user"], invited["admin"]
    first = link_in(box, user.email)
    link_id = db.session.scalar(select(AccountLink.id))
    assert admin.post(f"/admin/invitations/{link_id}/resend").status_code == 302
    second = link_in(box, user.email)
    assert second != first and len(box.to(user.email)) == 2
    person = Browser(app.test_client())
    gone = person.get(first)
    assert gone.status_code == 404
    answer = gone.get_data(as_text=True)
    assert person.get("/invitation/not-a-token-at-all").get_data(as_text=True) == answer
    assert person.get(second.replace("/invitation/", "/password-reset/")).status_code == 404  # not a reset link
    assert person.post(first, {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}).status_code == 404

    db.session.execute(update(AccountLink).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()
    assert person.get(second).get_data(as_text=True) == answer
    assert "expired" in admin.get("/admin/invitations").get_data(as_text=True)

    assert admin.post(f"/admin/invitations/{link_id}/resend").status_code == 302
    third = link_in(box, user.email)
    assert person.get(third).status_code == 200
    latest = db.session.scalars(select(AccountLink.id).order_by(AccountLink.id.desc())).first()
    assert admin.post(f"/admin/invitations/{latest}/revoke").status_code == 302
    assert person.get(third).get_data(as_text=True) == answer
    assert not fresh(user).active  # withdrawn before a password was chosen: the account is off too
    assert "revoked" in admin.get("/admin/invitations").get_data(as_text=True)
    assert actions("invitation.resend", "invitation.revoke") == ["invitation.resend"] * 2 + ["invitation.revoke"]


def test_a_partner_invites_people_of_their_own_congregation_only(
    smtp_config: Mailbox, app: Flask, make_user, make_organisation, browser_for
) -> None:
    own, other = make_organisation("Masjid Al-Noor"), make_organisation("St. Mark's")
    partner = browser_for(make_user(Role.PARTNER, own))
    page = partner.get("/portal/people")
    assert page.status_code == 200 and "Masjid Al-Noor" in page.get_data(as_text=True)
    sent = partner.post("/portal/people", {"email": "helper@example.org", "name": "A Helper",
                                           "role": "admin", "organisation_id": str(other.id)})
    assert sent.status_code == 302
    helper = db.session.scalar(select(User).where(User.email == "helper@example.org"))
    assert helper is not None and helper.role == "partner" and helper.organisation_id == own.id  # whatever was sent
    assert smtp_config.to("helper@example.org")
    listing = partner.get("/portal/people").get_data(as_text=True)
    assert "helper@example.org" in listing and "waiting" in listing

    other_partner = browser_for(make_user(Role.PARTNER, other))
    link_id = db.session.scalar(select(AccountLink.id))
    assert other_partner.post(f"/portal/people/invitations/{link_id}/revoke").status_code == 404
    assert other_partner.post(f"/portal/people/invitations/{link_id}/resend").status_code == 404
    assert "helper@example.org" not in other_partner.get("/portal/people").get_data(as_text=True)
    assert partner.post(f"/portal/people/invitations/{link_id}/revoke").status_code == 302
    assert "revoked" in partner.get("/portal/people").get_data(as_text=True)


def test_an_invitation_to_an_address_with_an_account_is_refused_with_what_was_typed(
    smtp_config: Mailbox, app: Flask, make_user, browser_for
) -> None:
    existing = make_user(Role.OFFICER)
    admin = browser_for(make_user(Role.ADMIN))
    refused = admin.post("/admin/invitations", {"email": existing.email, "name": "Typed Name", "role": "officer"})
    assert refused.status_code == 422
    assert "Typed Name" in refused.get_data(as_text=True) and "already has an account" in refused.get_data(as_text=True)
    assert not smtp_config.messages


# --- forgot password -------------------------------------------------------------------------

def ask(browser: Browser, email: str, ip: str = "192.0.2.50") -> Any:
    browser.get("/forgot-password", environ_base={"REMOTE_ADDR": ip})
    return browser.post("/forgot-password", {"email": email}, environ_base={"REMOTE_ADDR": ip})


def test_forgot_password_answers_the_same_for_any_address(smtp_config: Mailbox, app: Flask, make_user) -> None:
    officer = make_user(Role.OFFICER)
    known, unknown = Browser(app.test_client()), Browser(app.test_client())
    a, b = ask(known, officer.email.upper()), ask(unknown, "nobody@example.org")
    assert (a.status_code, a.headers["Location"]) == (b.status_code, b.headers["Location"]) == (302, "/login")

    def said(browser: Browser, email: str) -> str:
        page = browser.get("/login").get_data(as_text=True).replace(email, "EMAIL")
        return re.sub(r'name="csrf_token" value="[^"]*"', "", page)

    assert said(known, officer.email.upper()) == said(unknown, "nobody@example.org")
    assert [rcpt for rcpt, _ in smtp_config.messages] == [[officer.email]]
    assert "60 minutes" in _body(smtp_config.messages[0][1])


def test_a_reset_link_sets_the_password_once_and_ends_every_login_and_token(
    smtp_config: Mailbox, app: Flask, make_user, browser_for, api_token
) -> None:
    officer = make_user(Role.OFFICER, must_change_password=True)
    elsewhere = browser_for(officer)  # signed in on another computer (held at the password form)
    token = api_token(make_user(Role.OFFICER))  # someone else's token lives on
    db.session.add(ApiToken(user=officer, token_hash="f" * 64, prefix="fpt_x", created_at=utcnow()))
    db.session.commit()
    ask(Browser(app.test_client()), officer.email)
    path = link_in(smtp_config, officer.email)
    person = Browser(app.test_client())
    page = person.get(path)
    assert page.status_code == 200 and officer.email in page.get_data(as_text=True)
    same = person.post(path, {"password": PASSWORD, "confirm_password": PASSWORD})
    assert same.status_code == 422 and "current password" in same.get_data(as_text=True)
    done = person.post(path, {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert db.session.scalar(select(LoginSession).where(LoginSession.user_id == officer.id)) is None
    assert "/login" in elsewhere.get("/r/").headers["Location"]  # signed out there
    assert all(t.revoked_at for t in db.session.scalars(select(ApiToken).where(ApiToken.user_id == officer.id)))
    assert app.test_client().get("/api/v1/buildings", headers=token).status_code == 200
    assert not fresh(officer).must_change_password  # the person's own choice
    assert person.get(path).status_code == 404
    assert Browser(app.test_client()).login(officer.email, NEW_PASSWORD).status_code == 302
    assert actions("password_reset.request", "password_reset.use") == ["password_reset.request",
                                                                       "password_reset.use"]


def test_forgot_password_is_limited_per_address_and_silently_per_account(
    smtp_config: Mailbox, app: Flask, make_user
) -> None:
    officer = make_user(Role.OFFICER)
    browser = Browser(app.test_client())
    for n in range(account_links.RESETS_PER_ACCOUNT_PER_HOUR + 1):
        assert ask(browser, officer.email, ip=f"198.51.100.{n + 1}").status_code == 302
    assert len(smtp_config.to(officer.email)) == account_links.RESETS_PER_ACCOUNT_PER_HOUR  # the last: not sent
    for n in range(account_links.RESETS_PER_ADDRESS_PER_HOUR):
        assert ask(browser, f"someone{n}@example.org", ip="203.0.113.9").status_code == 302
    for email in (officer.email, "nobody@example.org"):
        refused = ask(browser, email, ip="203.0.113.9")
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        assert "Too many password reset requests" in refused.get_data(as_text=True)
        assert email in refused.get_data(as_text=True)  # the form again, with what was typed


def test_no_link_for_a_disabled_or_agency_account(smtp_config: Mailbox, app: Flask, make_user) -> None:
    disabled = make_user(Role.OFFICER, active=False)
    agency = make_user(Role.OFFICER, identity_issuer="https://login.example", identity_subject="abc")
    for user in (disabled, agency):
        assert ask(Browser(app.test_client()), user.email).status_code == 302
    assert not smtp_config.messages


def test_forgot_password_takes_as_long_for_an_unknown_address(
    smtp_config: Mailbox, app: Flask, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request only counts its address and queues a job, for any e-mail; the job looks
    the address up, makes the link and sends the mail.  Medians of 15 alternating requests."""
    from floorplans.jobs import get_jobs

    get_jobs().huey.immediate = False
    monkeypatch.setattr(account_links, "RESETS_PER_ACCOUNT_PER_HOUR", 1000)  # a link every time
    officer = make_user(Role.OFFICER)
    browser = Browser(app.test_client())
    browser.get("/forgot-password")
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for n in range(15):
        for kind, email in (("known", officer.email), ("unknown", f"nobody{n}@example.org")):
            start = time.perf_counter()
            response = browser.post("/forgot-password", {"email": email}, environ_base={"REMOTE_ADDR": f"192.0.2.{n}"})
            timings[kind].append(time.perf_counter() - start)
            assert response.status_code == 302
    known, unknown = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    print(f"forgot password: known {known * 1000:.1f} ms, unknown {unknown * 1000:.1f} ms (medians)")
    # Within half of each other, plus 10 ms of noise on a busy machine (when the request made
    # the link itself, a known address took twice as long: 63 against 33 ms).
    assert known < 1.5 * unknown + 0.010 and unknown < 1.5 * known + 0.010, (known, unknown)
    assert not smtp_config.messages  # queued, not sent by the request
    assert db.session.scalar(select(AccountLink)) is None  # nor the link made


def test_a_csv_import_invites_its_new_partners(smtp_config: Mailbox, app: Flask, runner, tmp_path) -> None:
    """``flask buildings import FILE --invite``: each new partner e-mail gets an invitation
    whose link works like any other."""
    csv = tmp_path / "places.csv"
    csv.write_text("name,street,city,organisation,faith_tradition,partner_email\n"
                   "Beth Shalom,1 King St,Toronto,Beth Shalom Congregation,Jewish,rabbi@bethshalom.example\n"
                   "St. Mark's,2 Queen St,Toronto,St. Mark's Parish,Christian,office@stmarks.example\n")
    result = runner.invoke(args=["buildings", "import", str(csv), "--invite"])
    assert result.exit_code == 0, result.output
    assert "Invited 2 new partner(s)" in result.output
    assert sorted(rcpt[0] for rcpt, _ in smtp_config.messages) == ["office@stmarks.example",
                                                                     "rabbi@bethshalom.example"]
    path = link_in(smtp_config, "rabbi@bethshalom.example")
    person = Browser(app.test_client())
    assert "Beth Shalom Congregation" in person.get(path).get_data(as_text=True)
    assert person.post(path, {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}).status_code == 302
    assert person.login("rabbi@bethshalom.example", NEW_PASSWORD).status_code == 302


def test_an_imported_partner_without_an_invitation_is_invited_from_the_admin_page(
    smtp_config: Mailbox, app: Flask, runner, tmp_path, make_user, browser_for
) -> None:
    csv = tmp_path / "places.csv"
    csv.write_text("name,street,city,organisation,faith_tradition,partner_email\n"
                   "Beth Shalom,1 King St,Toronto,Beth Shalom Congregation,Jewish,rabbi@bethshalom.example\n")
    assert runner.invoke(args=["buildings", "import", str(csv)]).exit_code == 0  # no --invite
    assert not smtp_config.messages
    admin = browser_for(make_user(Role.ADMIN))
    sent = admin.post("/admin/invitations", {"email": "rabbi@bethshalom.example", "role": "partner"})
    assert sent.status_code == 302  # the account as it is: Beth Shalom's partner
    path = link_in(smtp_config, "rabbi@bethshalom.example")
    assert "Beth Shalom Congregation" in Browser(app.test_client()).get(path).get_data(as_text=True)
