"""Reminders before a record goes stale: the portal banner, and e-mails through a real SMTP
server (aiosmtpd on loopback) from the CLI command and the daily job, once per crossing."""

from __future__ import annotations

import datetime as dt
import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from floorplans.db import db, utcnow
from floorplans.jobs import get_jobs
from floorplans.models import BuildingReminder, Role
from floorplans.services import reminders
from floorplans.templating import local_time


@dataclass
class Mailbox:
    """What the SMTP server received; ``refuse`` makes it answer 550 to every recipient."""

    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    refuse: bool = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [message for rcpt, message in self.messages if address in rcpt]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def smtp_config(app_config: dict[str, Any], mailbox: tuple[Mailbox, int]) -> Mailbox:
    box, port = mailbox
    app_config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="records@police.example",
                      BASE_URL="https://floorplans.police.example", JOBS_IMMEDIATE=True)
    return box


def _days_ago(days: float) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days)


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8").replace("\r\n", "\n")


def test_the_portal_lists_a_partners_due_and_stale_buildings(
    app, make_organisation, make_user, make_building, browser_for
) -> None:
    own, other = make_organisation(), make_organisation()
    due = make_building(own, name="Masjid Due", last_verified_at=_days_ago(170))
    stale = make_building(own, name="Masjid Stale", last_verified_at=_days_ago(200))
    make_building(own, name="Masjid Fresh", last_verified_at=_days_ago(10))
    make_building(other, name="Church Elsewhere", last_verified_at=_days_ago(300))
    partner = make_user(Role.PARTNER, own)

    page = browser_for(partner).get("/portal/").get_data(as_text=True)
    banner = page.split('class="reminders"', 1)[1].split("</section>", 1)[0]
    assert "2 building records need confirming" in banner
    assert f'/portal/buildings/{due.id}"' in banner and "confirm it before" in banner
    assert f'/portal/buildings/{stale.id}"' in banner and "possibly out of date" in banner
    assert "Masjid Fresh" not in banner and "Church Elsewhere" not in banner

    # Confirming takes it off the banner at once.
    browser = browser_for(partner)
    assert browser.post(f"/portal/buildings/{due.id}/verify").status_code == 302
    banner = browser.get(f"/portal/buildings/{stale.id}").get_data(as_text=True)
    assert "1 building record needs confirming" in banner and "Masjid Due" not in banner.split("<h1>")[0]

    # Officers and admins have no congregation: no banner.
    officer_page = browser_for(make_user(Role.ADMIN)).get("/portal/").get_data(as_text=True)
    assert 'class="reminders"' not in officer_page


def test_reminders_are_mailed_to_every_partner_once_per_crossing(
    smtp_config: Mailbox, app, make_organisation, make_user, make_building, runner
) -> None:
    box = smtp_config
    own, other = make_organisation("Gurdwara Sahib"), make_organisation()
    confirmed = _days_ago(170)
    building = make_building(own, name="Gurdwara Sahib Hall", last_verified_at=confirmed)
    make_building(own, name="Fresh Hall", last_verified_at=_days_ago(3))
    make_building(other, name="Other Church", last_verified_at=_days_ago(3))
    first, second = make_user(Role.PARTNER, own, name="Harpreet"), make_user(Role.PARTNER, own)
    make_user(Role.PARTNER, own, active=False)
    outsider = make_user(Role.PARTNER, other)
    make_user(Role.OFFICER)

    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    assert "Reminded the partners of 1 building(s) (2 e-mail(s))" in result.output
    assert sorted(r for rcpt, _ in box.messages for r in rcpt) == sorted([first.email, second.email])
    message = box.to(first.email)[0]
    assert message["From"] == "records@police.example"
    assert "Gurdwara Sahib Hall" in message["Subject"]
    text = _body(message)
    assert text.startswith("Hello Harpreet,")
    assert f"last confirmed as current on {local_time(confirmed, '%Y-%m-%d')}." in text
    assert f"https://floorplans.police.example/portal/buildings/{building.id}\n" in text
    assert "Fresh Hall" not in text and outsider.email not in str(box.messages)

    # The second run (cron, or the job worker the same day) sends nothing new.
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0 and "0 building(s)" in result.output and "1 already reminded" in result.output
    assert len(box.messages) == 2

    # Three weeks later it has gone stale: one more crossing, one more mail each, once.
    later = utcnow() + dt.timedelta(days=21)
    for _ in range(2):
        run = reminders.send_reminders(db.session.commit, now=later)
        db.session.commit()
    assert len(box.messages) == 4 and run.sent == []
    assert "out of date" in box.to(second.email)[1]["Subject"]
    assert db.session.query(BuildingReminder).filter_by(building_id=building.id).count() == 2

    # Confirming starts a new cycle: nothing is due now, and 166 days on it is due again.
    building.last_verified_at = utcnow()
    db.session.commit()
    assert reminders.send_reminders(db.session.commit).sent == []
    run = reminders.send_reminders(db.session.commit, now=utcnow() + dt.timedelta(days=170))
    assert (building.id, "due", 2) in run.sent


def test_the_daily_job_sends_them_too(smtp_config: Mailbox, app, make_user, make_building) -> None:
    building = make_building(last_verified_at=None)  # never confirmed: stale at once
    partner = make_user(Role.PARTNER, building.organisation)
    get_jobs().send_reminders.call_local()
    get_jobs().send_reminders.call_local()
    assert [rcpt for rcpt, _ in smtp_config.messages] == [[partner.email]]
    assert "has never been confirmed" in _body(smtp_config.messages[0][1])


def test_a_refused_reminder_is_tried_again(smtp_config: Mailbox, app, make_user, make_building, runner) -> None:
    building = make_building(last_verified_at=_days_ago(175))
    partner = make_user(Role.PARTNER, building.organisation)
    smtp_config.refuse = True
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 1 and "tried again" in result.output
    assert db.session.query(BuildingReminder).count() == 0
    smtp_config.refuse = False
    assert runner.invoke(args=["reminders", "send"]).exit_code == 0
    assert [rcpt for rcpt, _ in smtp_config.messages] == [[partner.email]]


def test_without_smtp_nothing_is_sent_or_recorded(app, make_user, make_building, runner) -> None:
    building = make_building(last_verified_at=_days_ago(200))
    make_user(Role.PARTNER, building.organisation)
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0 and "No SMTP server is configured" in result.output
    assert db.session.query(BuildingReminder).count() == 0


def test_a_draft_waiting_a_week_is_reminded_once_and_shown_in_the_banner(smtp_config, app, runner, make_user,
                                                                         make_building, browser_for) -> None:
    """A rendered plan nobody reviewed for DRAFT_REMIND_AFTER_DAYS: officers still see the old
    plan, so its partners are told, in the portal and once by e-mail per draft."""
    from floorplans.models import PlanPage, PlanVersion, VersionState

    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="Gurdwara Sahib", last_verified_at=utcnow())
    fresh = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                        original_bytes=1, page_count=1, original_filename="new-plans.pdf", finished_at=_days_ago(2),
                        pages=[PlanPage(number=1, position=1, label="Ground floor")])
    db.session.add(fresh)
    db.session.commit()
    assert reminders.waiting_drafts() == []  # two days: not yet
    portal = browser_for(partner)
    assert "wait for your review" not in portal.get("/portal/").text

    fresh.finished_at = _days_ago(8)
    db.session.commit()
    (waiting,) = reminders.waiting_drafts()
    assert waiting.draft is not None and waiting.draft.id == fresh.id and waiting.is_draft
    page = portal.get("/portal/").text
    assert "New plans wait for your review." in page and f"/plans/{fresh.id}" in page

    for _ in range(2):  # the second run finds the claim: no second mail
        result = runner.invoke(args=["reminders", "send"])
        assert result.exit_code == 0, result.output
    (message,) = smtp_config.to(partner.email)
    assert message["Subject"] == "New plans of Gurdwara Sahib wait for your review"
    body = _body(message)
    assert "new-plans.pdf" in body and "Officers still see no floor plan" in body and "Publish" in body

    fresh.published_at = utcnow()  # published: nothing waits any more
    db.session.commit()
    assert reminders.waiting_drafts() == []
    assert "wait for your review" not in portal.get("/portal/").text
