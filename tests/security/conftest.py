"""Fixtures for the trust tests: a clock the login and session services read, and the
audit events as a list."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from floorplans.db import db, utcnow
from floorplans.models import AuditEvent
from floorplans.services import accounts, audit, login


class Clock:
    """Naive-UTC "now" for the services, moved forward by the test."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock()
    for module in (login, audit, accounts):
        monkeypatch.setattr(module, "utcnow", moving)
    return moving


def audit_events(action: str | None = None, **where: Any) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return list(db.session.scalars(query))
