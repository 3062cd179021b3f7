"""An invitation walked through in a real headless Chromium: the administrator invites a
partner, the e-mail arrives at the real SMTP test server, the partner opens its link, sets
a password, signs in and lands on two-factor enrolment, then in the portal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from floorplans.models import Role
from tests.conftest import PASSWORD, serving
from tests.floorplans import test_reminders
from tests.floorplans.test_reminders import Mailbox, _body

pytestmark = pytest.mark.browser

mailbox = test_reminders.mailbox
smtp_config = test_reminders.smtp_config
CHOSEN = "juniper lighthouse cobalt sparrow"


@pytest.fixture
def live(smtp_config: Mailbox, app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


def test_an_invitation_from_the_admin_to_the_partner_signing_in(
    chromium: Any, smtp_config: Mailbox, live: str, make_user, make_organisation
) -> None:
    make_organisation("Gurdwara Sahib")
    admin = make_user(Role.ADMIN, name="Dana Admin")
    admin_context = chromium.new_context(locale="en-CA")
    partner_context = chromium.new_context(locale="en-CA")
    for context in (admin_context, partner_context):
        context.set_default_timeout(15_000)
    try:
        page = admin_context.new_page()
        page.goto(f"{live}/admin/users")
        page.fill("#email", admin.email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live}/admin/users")
        page.click("text=Invite someone by e-mail")
        page.wait_for_url(f"{live}/admin/invitations")
        page.fill("#email", "harpreet@example.org")
        page.fill("#name", "Harpreet Kaur")
        page.select_option("#role", "partner")
        page.select_option("#organisation_id", label="Gurdwara Sahib")
        page.click("text=Send the invitation")
        page.wait_for_url(f"{live}/admin/invitations")
        assert "An invitation is on its way to harpreet@example.org" in page.inner_text("body")
        assert "waiting" in page.inner_text("table.invitations")

        (message,) = smtp_config.to("harpreet@example.org")
        link = next(line for line in _body(message).splitlines() if "/invitation/" in line).strip()
        link = link.replace("https://floorplans.police.example", live)

        partner = partner_context.new_page()
        partner.goto(link)
        assert "Gurdwara Sahib" in partner.inner_text("main") and "Dana Admin" in partner.inner_text("main")
        partner.fill("#password", "gurdwara sahib")  # refused: the congregation's own name
        partner.fill("#confirm_password", "gurdwara sahib")
        partner.click("text=Set my password")
        assert "Nothing was saved" in partner.inner_text("[role=alert]")
        partner.fill("#password", CHOSEN)
        partner.fill("#confirm_password", CHOSEN)
        assert partner.is_checked("input[name=two_factor]")  # offered, ticked: the page comes after signing in
        partner.click("text=Set my password")
        partner.wait_for_url(f"{live}/login?next=**")
        assert "Your password is set" in partner.inner_text("body")
        partner.fill("#email", "harpreet@example.org")
        partner.fill("#password", CHOSEN)
        partner.click("button[type=submit]")
        partner.wait_for_url(f"{live}/account/two-factor")
        partner.click("nav >> text=People")
        partner.wait_for_url(f"{live}/portal/people")
        assert "harpreet@example.org" in partner.inner_text("main")

        partner.goto(link)  # the link worked once
        assert "This link does not work" in partner.inner_text("h1")
        page.reload()
        assert "accepted" in page.inner_text("table.invitations")
    finally:
        admin_context.close()
        partner_context.close()
