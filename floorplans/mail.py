"""Outgoing e-mail over SMTP (stdlib ``smtplib``), configured by ``FLOORPLANS_SMTP_*``.

Mail is optional: without ``SMTP_HOST`` nothing is sent and callers say so.  One
connection serves a whole run of messages.  Must not import blueprints, storage or
converters.
"""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any


def is_configured(config: Mapping[str, Any]) -> bool:
    return bool(config.get("SMTP_HOST"))


def message(config: Mapping[str, Any], *, to: str, subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = config["MAIL_FROM"]
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=str(config["MAIL_FROM"]).rpartition("@")[2] or None)
    mail.set_content(body)
    return mail


@contextmanager
def connection(config: Mapping[str, Any]) -> Iterator[smtplib.SMTP]:
    """An open, logged-in SMTP connection; closed (QUIT) afterwards."""
    timeout = float(config["SMTP_TIMEOUT_SECONDS"])
    smtp = smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=timeout)
    try:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME") and config.get("SMTP_PASSWORD"):
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        yield smtp
    finally:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            smtp.close()
