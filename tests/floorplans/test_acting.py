"""Who acted and from where (floorplans.acting, services.audit.Origin): declared once per
request before anything else runs, followed as Flask-Login signs someone in or out, given to
services rather than read by them, and gone when the request ends."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from floorplans.db import db
from floorplans.models import AuditEvent, Role
from floorplans.services import audit


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_a_web_request_records_who_acted_and_from_where(app: Flask, make_user, browser_for) -> None:
    partner = make_user(Role.PARTNER)
    browser = browser_for(partner)
    browser.client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    browser.get("/portal/")  # a page with a form: the CSRF token for the next post
    assert browser.post("/logout").status_code == 302
    (logout,) = events("logout")  # recorded without naming its actor: the request's signed-in user
    assert (logout.actor_id, logout.actor_role, logout.channel) == (partner.id, "partner", "web")
    assert (logout.ip_address, logout.address_key) == ("203.0.113.7", "203.0.113.7")


def test_an_api_request_is_declared_before_its_token_is_read(app: Flask) -> None:
    """The token loader records a refused token: the origin is there already."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "2001:db8::5"
    assert client.get("/api/v1/buildings", headers={"Authorization": "Bearer fpt_notatoken"}).status_code == 401
    (rejected,) = events("token.rejected")
    assert (rejected.channel, rejected.actor_id, rejected.ip_address) == ("api", None, "2001:db8::5")
    assert rejected.address_key == "2001:db8::/64"


def test_what_a_request_declared_ends_with_it(app: Flask, make_user) -> None:
    """A thread serves one request after another: a plain test client runs the request in
    the test's own context, as a server thread would run the next one."""
    partner = make_user(Role.PARTNER)
    client = FlaskClient(app)
    client.post("/login", data={"email": partner.email, "password": "wrong"})
    assert audit.current_origin() == audit.Origin("job")  # nothing left of the request's origin


def test_services_take_the_origin_they_are_given(app: Flask, make_user) -> None:
    admin = make_user(Role.ADMIN)
    with audit.acting(audit.Origin("cli", actor=admin)):
        declared = audit.record("audit.read")
        passed = audit.record("audit.read", origin=audit.Origin("job", "192.0.2.1"))
        named = audit.record("audit.read", actor=None, ip_address="192.0.2.9")
    assert (declared.channel, declared.actor_id, declared.ip_address) == ("cli", admin.id, "")
    assert (passed.channel, passed.actor_id, passed.ip_address) == ("job", None, "192.0.2.1")
    assert (named.channel, named.actor_id, named.ip_address) == ("cli", admin.id, "192.0.2.9")
    assert audit.current_origin() == audit.Origin("job")  # the block's declaration ended with it
    with pytest.raises(ValueError, match="one of web, api, cli, job"):
        audit.declare(audit.Origin("email"))
