"""The JSON API against its own OpenAPI document, with schemathesis: every operation of
/api/v1/openapi.json, as an administrator and as a partner, with bounded, deterministic
examples (the document's examples, its boundary values, then 10 generated cases per
operation, valid and invalid), straight through the WSGI app (no network) on a throwaway
database per run.  Zero server errors (5xx), zero undocumented statuses, zero answers that
disagree with the document.

The records are real: a partner's building with a contact, a gathering and a published
two-sheet plan rendered through the normal upload path, and markers on it; ids start at 1
in a fresh database, so small generated ids reach them.  Writes (PATCH, DELETE, uploads)
really happen, on this run's database only.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pymupdf
import pytest
import schemathesis
from flask import Flask
from schemathesis.engine import Status, events, from_schema

from floorplans.db import db
from floorplans.jobs import queue_render
from floorplans.models import Contact, Gathering, Role
from floorplans.services import markers, plans
from tests.conftest import publish_reviewed

pytestmark = pytest.mark.slow

#: As ``st run`` does: the document's examples, boundary values ("coverage") and generated
#: cases ("fuzzing"), valid and invalid, 10 generated per operation, the same ones every run.
#: No stateful sequences: the throwaway records are enough to reach each operation's code.
CONFIG = """
seed = 15
workers = 1
headers = {{ Authorization = "{authorization}" }}
[generation]
mode = "all"
max-examples = 10
deterministic = true
database = "none"
[phases.stateful]
enabled = false
[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true
"""


@dataclass
class Run:
    """What one schemathesis run found."""

    cases: int = 0
    failures: list[str] = field(default_factory=list)

    def read(self, stream: Iterable[events.EngineEvent]) -> Run:
        for event in stream:
            if isinstance(event, events.ScenarioFinished):
                self.cases += len(event.recorder.cases)
                for checks in event.recorder.checks.values():
                    self.failures += [f"{event.recorder.label}: {check.failure_info.failure.title}: "
                                      f"{check.failure_info.failure.message[:300]}\n  {check.failure_info.code_sample}"
                                      for check in checks if check.status is Status.FAILURE and check.failure_info]
            elif isinstance(event, events.NonFatalError):
                # An exception out of the app (TESTING propagates them): a 500 in production.
                self.failures.append(f"{event.label}: {type(event.value).__name__}: {event.value}")
            elif isinstance(event, events.FatalError):
                self.failures.append(f"the run: {type(event.exception).__name__}: {event.exception}")
        return self


def two_sheet_pdf() -> bytes:
    """A small vector plan: two sheets whose titles name floors."""
    document = pymupdf.open()
    for title in ("Ground floor", "Basement"):
        page = document.new_page(width=612, height=396)
        page.insert_text((40, 40), title, fontsize=18)
        page.draw_rect(pymupdf.Rect(60, 70, 550, 360), width=2)
        page.draw_line((300, 70), (300, 360), width=1)
    data: bytes = document.tobytes()
    document.close()
    return data


#: The administrator reaches every operation's code on each engine (PostgreSQL refuses NUL in
#: text, SQLite numbers past 2^63 - 1); the partner's run adds the refusals of someone else's
#: records, which are decided in Python alike on both, so it runs on SQLite only (time).
RUNS = [("sqlite", "admin"), ("sqlite", "partner")] + (
    [("postgresql", "admin")] if os.environ.get("FLOORPLANS_TEST_DATABASE_URL") else [])


@pytest.fixture
def caller(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def quick_render(app_config: dict[str, Any]) -> None:
    """Small pyramids, rendered inline: the plan only has to exist for real."""
    app_config.update(PAGE_MAX_PIXELS=1_000_000, RENDER_WORKERS=1, JOBS_IMMEDIATE=True)


@pytest.fixture
def bearer(app: Flask, caller: str, make_user, make_building, api_token) -> dict[str, str]:
    """The records of one congregation, and the bearer header of ``caller``."""
    partner = make_user(Role.PARTNER)
    admin = make_user(Role.ADMIN)
    building = make_building(partner.organisation, name="Masjid Al-Noor")
    db.session.add(Contact(building=building, position=1, name="Yusuf Ali", phone="416-555-0101",
                           available_24_7=True))
    db.session.add(Gathering(building=building, label="Friday prayers", weekday=4,
                             start_time=dt.time(13, 0), end_time=dt.time(14, 30)))
    db.session.commit()
    version = plans.upload_plan(building, io.BytesIO(two_sheet_pdf()), "plans.pdf", by=partner)
    queue_render(version.id)  # JOBS_IMMEDIATE: rendered at the commit
    db.session.commit()
    db.session.refresh(version)
    publish_reviewed(version, partner)
    markers.place(version.pages[0], {"kind": "door", "x": 0.5, "y": 0.9, "number": 1, "side": "A"}, by=partner)
    markers.place(version.pages[1], {"kind": "aed", "x": 0.2, "y": 0.3, "label": "AED"}, by=partner)
    db.session.commit()
    return api_token(admin if caller == "admin" else partner)


def isolated(app: Flask):  # type: ignore[no-untyped-def]
    """The app as a server runs it: every request in a context of its own (the test holds an
    app context, which requests would otherwise share, with its database session)."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return contextvars.Context().run(lambda: list(app(environ, start_response)))

    return wsgi


@pytest.mark.parametrize(("database_url", "caller"), RUNS, indirect=True)
def test_every_answer_is_documented_and_none_is_a_server_error(app: Flask, bearer: dict[str, str]) -> None:
    config = schemathesis.Config.from_str(CONFIG.format(authorization=bearer["Authorization"]))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated(app), config=config, headers=bearer)
    # Revoking the very token the run uses would leave every later case a 401: nothing learnt.
    schema = schema.exclude(method="DELETE", path_regex=r"^/tokens/")
    run = Run().read(from_schema(schema).execute())
    print(f"schemathesis: {run.cases} cases, {len(run.failures)} failures")
    assert run.cases > 500, "schemathesis generated too few cases to mean anything"
    assert not run.failures, "\n\n".join(run.failures)
