"""The tile gate (floorplans.tile_gate): the lean path answers a session's tile GETs exactly as
the full path would, only after the full path let that session read a tile, and an ended or
disabled login is refused within the recheck interval (at once in the process that ended it)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from floorplans import objects, tile_gate
from floorplans.db import db, utcnow
from floorplans.models import Building, PlanPage, PlanVersion, Role, User, VersionState
from floorplans.services import accounts
from tests.conftest import Browser


class Counting:
    """Wraps what the gate passes on to: how many requests reached Flask."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls += 1
        return self.inner(environ, start_response)  # type: ignore[no-any-return]


@pytest.fixture
def gate(app: Flask) -> tile_gate.TileGate:
    the_gate: tile_gate.TileGate = app.extensions[tile_gate.EXTENSION]
    the_gate.wsgi_app = Counting(the_gate.wsgi_app)
    return the_gate


def ready_plan(building: Building, body: bytes) -> str:
    version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=1, pages=[PlanPage(number=1, position=1, label="Ground")])
    db.session.add(version)
    db.session.flush()
    objects.get_storage().put(objects.tile_key(version.key, 1, 2, 1, 3), body)
    building.published_version = version
    version.published_at = utcnow()
    db.session.commit()
    return f"/r/tiles/{version.key}/1/2/1/3.webp"


def _comparable(headers: Any) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in ("Date", "Server")}


def test_the_gate_answers_exactly_as_the_full_path_once_it_has(
    app: Flask, gate: tile_gate.TileGate, make_user, make_building, browser_for
) -> None:
    url = ready_plan(make_building(), b"RIFF-tile")
    officer = browser_for(make_user(Role.OFFICER))
    calls = gate.wsgi_app.calls  # type: ignore[attr-defined]
    full = officer.get(url)
    assert gate.wsgi_app.calls == calls + 1  # type: ignore[attr-defined]
    lean = officer.get(url)
    assert gate.wsgi_app.calls == calls + 1  # type: ignore[attr-defined]  # the gate answered
    assert (lean.status_code, lean.data) == (full.status_code, full.data) == (200, b"RIFF-tile")
    assert _comparable(lean.headers) == _comparable(full.headers)

    # A browser revalidating gets the same 304 either way.
    etag = full.headers["ETag"]
    lean_304 = officer.get(url, headers={"If-None-Match": etag})
    gate.forget()
    full_304 = officer.get(url, headers={"If-None-Match": etag})
    assert lean_304.status_code == full_304.status_code == 304
    assert _comparable(lean_304.headers) == _comparable(full_304.headers)

    # Over HTTPS too (HSTS added), as the full path answers.
    assert officer.get(url).status_code == 200
    before = gate.wsgi_app.calls  # type: ignore[attr-defined]
    lean_https = officer.get(url, base_url="https://localhost")
    assert gate.wsgi_app.calls == before  # type: ignore[attr-defined]
    gate.forget()
    full_https = officer.get(url, base_url="https://localhost")
    assert "Strict-Transport-Security" in lean_https.headers and lean_https.data == b"RIFF-tile"
    assert _comparable(lean_https.headers) == _comparable(full_https.headers)

    # What the gate does not know goes to Flask: a missing tile, HEAD.
    before = gate.wsgi_app.calls  # type: ignore[attr-defined]
    assert officer.get(url.replace("/2/1/3.webp", "/2/1/2.webp")).status_code == 404
    assert officer.client.head(url).status_code == 200
    assert gate.wsgi_app.calls == before + 2  # type: ignore[attr-defined]


def test_only_sessions_the_full_path_let_in_and_only_their_congregations(
    app: Flask, gate: tile_gate.TileGate, make_organisation, make_user, make_building, browser_for
) -> None:
    own, other = make_organisation("Gurdwara Sahib"), make_organisation("St. Mary's Parish")
    own_url, other_url = ready_plan(make_building(own), b"OWN"), ready_plan(make_building(other), b"VICTIM")
    officer, partner = browser_for(make_user(Role.OFFICER)), browser_for(make_user(Role.PARTNER, own))
    assert officer.get(other_url).data == b"VICTIM"  # the other version's congregation is now known
    assert partner.get(own_url).data == b"OWN"  # and the partner's session is remembered
    assert partner.get(own_url).data == b"OWN"
    for _ in range(2):
        refused = partner.get(other_url)
        assert refused.status_code == 404 and b"VICTIM" not in refused.data

    anonymous = Browser(app.test_client())
    response = anonymous.get(own_url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # A cookie the server never signed is not a way in.
    anonymous.client.set_cookie(app.config["SESSION_COOKIE_NAME"], "forged.cookie.value")
    assert anonymous.get(own_url).status_code == 302


def _cookie(browser: Browser, app: Flask) -> str:
    cookie = browser.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def test_a_login_ended_elsewhere_is_refused_after_the_recheck_interval(
    app: Flask, gate: tile_gate.TileGate, make_user, make_building, browser_for
) -> None:
    url = ready_plan(make_building(), b"RIFF-tile")
    user = make_user(Role.OFFICER)
    officer = browser_for(user)
    assert officer.get(url).status_code == 200
    # Another web process disables the account (no ORM events here, as in another process).
    db.session.execute(text("UPDATE users SET active = :no WHERE id = :id"), {"no": False, "id": user.id})
    db.session.commit()
    assert officer.get(url).status_code == 200  # within the interval: the documented delay
    started = gate.clock()
    gate.clock = lambda: started + tile_gate.DEFAULT_RECHECK_SECONDS + 0.1
    refused = officer.get(url)
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert officer.get(url).status_code == 302


def test_logout_or_disabling_in_this_process_takes_effect_at_once(
    app: Flask, gate: tile_gate.TileGate, make_user, make_building, browser_for
) -> None:
    url = ready_plan(make_building(), b"RIFF-tile")
    user = make_user(Role.OFFICER)
    officer = browser_for(user)
    assert officer.get(url).status_code == 200
    copy = Browser(app.test_client())
    copy.client.set_cookie(app.config["SESSION_COOKIE_NAME"], _cookie(officer, app))
    assert copy.get(url).status_code == 200
    assert officer.post("/logout").status_code == 302
    assert copy.get(url).status_code == 302  # the copied cookie is dead now, not in 5 s

    again = browser_for(user)
    assert again.get(url).status_code == 200 and again.get(url).status_code == 200
    accounts.update_user(db.session.get(User, user.id), role=Role.OFFICER.value, organisation=None, active=False,
                         name="")
    db.session.commit()
    assert again.get(url).status_code == 302


def test_api_tokens_never_use_the_gate(app: Flask, gate: tile_gate.TileGate, make_user, make_building,
                                       api_token) -> None:
    url = ready_plan(make_building(), b"RIFF-tile")
    headers = api_token(make_user(Role.OFFICER))
    client = app.test_client()
    for _ in range(2):  # API clients read tiles under /api/, the only place a token counts
        assert client.get(url.replace("/r/tiles/", "/api/v1/tiles/"), headers=headers).data == b"RIFF-tile"
        assert client.get(url, headers=headers).status_code == 302  # the in-car route: sign in first
    assert gate.readers == {}
