"""Exports download only from this site's own pages: a link, image or form on another site
cannot make a signed-in officer's browser fetch a plan logged under that officer.

``Sec-Fetch-Site`` (sent by every current browser) must say same-origin, same-site or none
(typed, bookmarked); a browser that sends no such header must POST the Print & export
page's form with its CSRF token.  API calls with a bearer token are not concerned."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from floorplans.db import db
from floorplans.models import AccessEvent, Role
from tests.floorplans.test_exports import SQLITE_ONLY, render_plan

pytestmark = SQLITE_ONLY  # one plan rendered; the rule is HTTP only

PLAN = "plan-conference-centre-lecture-halls-A4-vector.pdf"


@pytest.fixture
def fast_render(app_config):  # type: ignore[no-untyped-def]
    # Many packets in a minute here: the quota is tested in test_quotas.py.
    app_config.update(PAGE_MAX_PIXELS=4_000_000, RENDER_WORKERS=2, JOBS_IMMEDIATE=True, PACKETS_PER_MINUTE=100)
    return app_config


def exports_logged() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(AccessEvent.id)).where(AccessEvent.action.like("export.%")))


@pytest.mark.slow  # renders a plan in child processes
def test_downloads_only_from_our_own_pages(fast_render, app, make_user, make_building, browser_for,
                                           api_token) -> None:  # type: ignore[no-untyped-def]
    partner = make_user(Role.PARTNER)
    building = make_building(partner.organisation, name="Beth Shalom")
    render_plan(building, partner, PLAN)
    officer = make_user(Role.OFFICER)
    web = browser_for(officer)
    base = f"/r/buildings/{building.id}/export"
    downloads = {f"{base}/packet.pdf": "application/pdf", f"{base}/markers.geojson": "application/geo+json",
                 f"{base}/pages/1.png": "image/png"}

    # The page's buttons are POST forms carrying the CSRF token.
    page = web.get(base).get_data(as_text=True)
    for url in downloads:
        form = re.search(rf'<form method="post" action="{re.escape(url)}"[^>]*>\s*<input type="hidden" '
                         r'name="csrf_token" value="[^"]+">', page)
        assert form, url
    token = web.csrf_token
    raw = web.client  # sends no Sec-Fetch-Site: an older browser, or a tool with a copied cookie

    for done, (url, mimetype) in enumerate(downloads.items()):
        # Another site's link, image, script or form: refused, whatever the method.
        for method in ("GET", "POST"):
            refused = raw.open(url, method=method, headers={"Sec-Fetch-Site": "cross-site"},
                               data={"csrf_token": token})
            assert refused.status_code == 403, (url, method)
            assert "started by another website, so it was refused" in refused.get_data(as_text=True)
        # No header at all: a GET is refused (it could be another site's link) ...
        unsaid = raw.get(url)
        assert unsaid.status_code == 403 and "Print &amp; export page" in unsaid.get_data(as_text=True), url
        # ... a POST without the page's token is refused by the CSRF check ...
        assert raw.post(url, data={}).status_code == 400, url
        assert exports_logged() == done * 4  # nothing refused was downloaded, so nothing logged
        # ... and the page's POST form with its token downloads.
        posted = raw.post(url, data={"csrf_token": token, "paper": "a4"})
        assert posted.status_code == 200 and posted.mimetype == mimetype, url
        # A browser that says where the request came from may GET (same site, typed or bookmarked).
        for site in ("same-origin", "same-site", "none"):
            assert raw.get(url, headers={"Sec-Fetch-Site": site}).mimetype == mimetype, (url, site)
    assert exports_logged() == 3 * 4

    # The API: a bearer token passes (a browser never sends one by itself); a browser session
    # calling the API is held to the same rule, with a JSON answer.
    headers = api_token(officer)
    for url, mimetype in downloads.items():
        api_url = "/api/v1" + url.removeprefix("/r")
        assert raw.get(api_url, headers={**headers, "Sec-Fetch-Site": "cross-site"}).mimetype == mimetype
        assert raw.get(api_url, headers=headers).mimetype == mimetype
        by_session = raw.get(api_url, headers={"Sec-Fetch-Site": "cross-site"})
        assert by_session.status_code == 403 and "another website" in by_session.get_json()["error"]
        assert raw.get(api_url).status_code == 403
        assert raw.get(api_url, headers={"Sec-Fetch-Site": "same-origin"}).mimetype == mimetype
    assert exports_logged() == 3 * 4 + 3 * 3
