"""Outgoing e-mail over SMTP (stdlib ``smtplib``), configured by ``FLOORPLANS_SMTP_*``.

Mail is optional: without ``SMTP_HOST`` nothing is sent and callers say so.  One
connection serves a whole run of messages.  Must not import blueprints, storage or
converters.
"""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from floorplans.config import Settings


def is_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def message(settings: Settings, *, to: str, subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    mail.set_content(body)
    return mail


@contextmanager
def connection(settings: Settings) -> Iterator[smtplib.SMTP]:
    """An open, logged-in SMTP connection; closed (QUIT) afterwards."""
    smtp = smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=settings.smtp_timeout_seconds)
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password)
        yield smtp
    finally:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            smtp.close()
