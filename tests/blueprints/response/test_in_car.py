"""The in-car view over HTTP: finding, the card, the plan page, the access log of every
view, the offline machinery's server side, and the pages' hygiene (no inline script)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from floorplans.db import db, utcnow
from floorplans.models import AccessEvent, Building, Contact, Gathering, PlanPage, PlanVersion, Role, VersionState
from floorplans.services import access, offline


def published_plan(building: Building, *pages: tuple[str, int, int, int]) -> PlanVersion:
    """A READY, published version with pages (label, width, height, max_zoom); no tiles needed."""
    version = PlanVersion(building=building, number=1, state=VersionState.READY.value, original_sha256="0" * 64,
                          original_bytes=1, page_count=len(pages))
    for number, (label, width, height, max_zoom) in enumerate(pages, start=1):
        version.pages.append(PlanPage(number=number, position=len(pages) - number + 1, label=label,
                                      width=width, height=height, tile_size=256, max_zoom=max_zoom))
    db.session.add(version)
    db.session.flush()
    building.published_version_id = version.id
    version.published_at = utcnow()
    db.session.commit()
    return version


def events(building: Building) -> list[tuple[int, str, str]]:
    db.session.expire_all()
    query = select(AccessEvent).where(AccessEvent.building_id == building.id).order_by(AccessEvent.id)
    rows = db.session.scalars(query)
    return [(e.user_id, e.action, e.detail) for e in rows]


class ScriptAndStyleFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if "style" in names or any(name.startswith("on") for name in names):
            self.inline.append(f"<{tag} {attrs}>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            if names.get("src"):
                self.scripts.append(names["src"] or "")
            else:
                self.inline.append("<script> without src")


# --- finding ----------------------------------------------------------------------------

def test_cad_link_opens_the_one_matching_building(browser_for, make_user, make_building) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    building = make_building(name="Beth Shalom", street="123 Main Street", city="Toronto")
    response = officer.get("/r/lookup?address=123+MAIN+ST%2C+TORONTO%2C+ON")
    assert response.status_code == 302 and response.headers["Location"] == f"/r/buildings/{building.id}"


def test_cad_link_lists_several_matches_or_says_none(browser_for, make_user, make_building) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    make_building(name="Hall A", street="10 King Street", city="Toronto")
    make_building(name="Hall B", street="10 King Street", city="Hamilton")
    page = officer.get("/r/lookup?address=10+King+St").get_data(as_text=True)
    assert "2 buildings match the address" in page and "Hall A" in page and "Hall B" in page
    page = officer.get("/r/lookup?address=1+Nowhere+Road").get_data(as_text=True)
    assert "No building on record matches the address “1 Nowhere Road”" in page


def test_cad_link_to_a_near_address_asks_before_opening(browser_for, make_user, make_building) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    building = make_building(name="Beth Shalom", street="123 Main Street", city="Toronto")
    for address, differs in (("123+Main+Ave", "street type differs"), ("123+Main+St+W", "direction differs"),
                             ("123+Mian+St%2C+Toronto", "spelling differs")):
        response = officer.get(f"/r/lookup?address={address}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "Closest match:" in page, address
        assert f"Not the same address: {differs}." in page
        assert f'<a class="button primary" href="/r/buildings/{building.id}">Open Beth Shalom</a>' in page


def test_search_and_recently_viewed(browser_for, make_user, make_building) -> None:
    officer_user = make_user(Role.OFFICER)
    officer = browser_for(officer_user)
    first = make_building(name="Gurdwara Sahib", street="123 Main Street")
    second = make_building(name="Grace Chapel", street="9 Elm Street")
    page = officer.get("/r/?q=123+main+st").get_data(as_text=True)
    assert "Gurdwara Sahib" in page and "Grace Chapel" not in page
    assert "Recently viewed" not in officer.get("/r/").get_data(as_text=True)
    officer.get(f"/r/buildings/{first.id}")
    officer.get(f"/r/buildings/{second.id}")
    officer.get(f"/r/buildings/{first.id}")
    page = officer.get("/r/").get_data(as_text=True)
    recent = page[page.index("Recently viewed"):]
    assert recent.index("Gurdwara Sahib") < recent.index("Grace Chapel")
    # Under results, no second list to mistake for one; where nothing was found, it helps.
    for found in ("/r/?q=grace", "/r/lookup?address=11+Elm+St"):  # a near match: listed
        page = officer.get(found).get_data(as_text=True)
        assert "Grace Chapel" in page and "Recently viewed" not in page and "Gurdwara Sahib" not in page, found
    for missing in ("/r/?q=nowhere", "/r/lookup?address=77+Nowhere+Rd"):
        assert "Recently viewed" in officer.get(missing).get_data(as_text=True), missing
    # Another officer's views are theirs, not this one's.
    assert "Recently viewed" not in browser_for(make_user(Role.OFFICER)).get("/r/").get_data(as_text=True)


def test_a_broad_search_comes_in_pages_and_says_that_more_match(browser_for, make_user, make_building) -> None:
    """A town's name matches thousands of a province's buildings: the Find page shows 20 at a
    time by name, says which ones and that more match, and links the pages."""
    from blueprints.response.find import FOUND_PAGE_SIZE

    officer = browser_for(make_user(Role.OFFICER))
    names = [f"Grace {n:02d}" for n in range(2 * FOUND_PAGE_SIZE + 5)]
    for n, name in enumerate(reversed(names)):  # made in an order unlike their names'
        make_building(name=name, street=f"{n + 1} Elm Street", city="Guelph")
    make_building(name="Knox", street="1 Oak Street", city="Guelph")

    def shown(page: str) -> list[str]:
        results = page[page.index('<ul class="results">'):page.index("</ul>")]
        return re.findall(r"<strong>([^<]+)</strong>", results)

    first = officer.get("/r/?q=grace").get_data(as_text=True)
    assert shown(first) == names[:FOUND_PAGE_SIZE]
    assert "Buildings 1 to 20 by name: more match “grace”. Add a word" in first
    assert 'rel="next" href="/r/?page=2&amp;q=grace"' in first and 'rel="prev"' not in first
    assert f"Keep these {FOUND_PAGE_SIZE} buildings offline" in first
    second = officer.get("/r/?q=grace&page=2").get_data(as_text=True)
    assert shown(second) == names[FOUND_PAGE_SIZE:2 * FOUND_PAGE_SIZE]
    assert 'rel="prev" href="/r/?page=1&amp;q=grace"' in second and 'rel="next" href="/r/?page=3&amp;q=grace"' in second
    last = officer.get("/r/?q=grace&page=3").get_data(as_text=True)
    assert shown(last) == names[2 * FOUND_PAGE_SIZE:]
    assert "Buildings 41 to 45 by name, the last that match “grace”." in last and 'rel="next"' not in last
    assert "Keep these 5 buildings offline" in last
    # A page past the last (a link kept while records changed) starts again at the first.
    past = officer.get("/r/?q=grace&page=9")
    assert past.status_code == 302 and past.headers["Location"] == "/r/?q=grace"
    # Everything on one page: no pages, nothing said about more.
    few = officer.get("/r/?q=guelph+knox").get_data(as_text=True)
    assert shown(few) == ["Knox"] and "data-found-part" not in few and 'class="pager"' not in few


def test_nearest_is_json_with_distance_and_direction(browser_for, make_user, make_building) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    near = make_building(name="Near", latitude=43.6460, longitude=-79.3951)
    make_building(name="Unplaced")
    response = officer.get("/r/nearest?lat=43.6455&lon=-79.3951", headers={"Accept": "application/json"})
    assert response.status_code == 200
    (found,) = response.get_json()["buildings"]
    assert found["id"] == near.id and found["direction"] == "N" and found["distance"] == "60 m"
    assert found["card_url"] == f"/r/buildings/{near.id}"
    bad = officer.get("/r/nearest?lat=north&lon=1", headers={"Accept": "application/json"})
    assert bad.status_code == 422 and "decimal degrees" in bad.get_json()["error"]


# --- the card ----------------------------------------------------------------------------

def test_card_says_what_is_on_now_and_who_to_call_first(app, browser_for, make_user, make_building) -> None:
    now = dt.datetime.now(ZoneInfo(app.config["TIMEZONE"]))
    start = (now - dt.timedelta(minutes=30)).time().replace(second=0, microsecond=0)
    end = (now + dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    building = make_building(name="Masjid Al-Noor", capacity=600, hazards="Oxygen cylinders in the clinic",
                             key_box="Knox box left of the main doors", shutoff_gas="West wall, outside",
                             alarm_panel="Inside the main doors", entrances="Main doors on Queen St")
    building.last_verified_at = utcnow()
    db.session.add_all([
        # Dated the day it started, so a run just after midnight still finds it on now.
        Gathering(building=building, label="Friday prayers", on_date=(now - dt.timedelta(minutes=30)).date(),
                  start_time=start, end_time=end,
                  expected_attendance=400, children_areas_in_use=True),
        Contact(building=building, position=1, name="Office manager", phone="416-555-0101",
                available_days="", available_from=(now + dt.timedelta(hours=2)).time().replace(second=0, microsecond=0),
                available_until=(now + dt.timedelta(hours=3)).time().replace(second=0, microsecond=0)),
        Contact(building=building, position=2, name="Caretaker Yusuf", phone="(416) 555-0177 x12", key_holder=True,
                available_24_7=True, languages="Arabic, Urdu"),
    ])
    db.session.commit()
    page = browser_for(make_user(Role.OFFICER)).get(f"/r/buildings/{building.id}").get_data(as_text=True)
    assert f"Friday prayers until {end:%H:%M}, ~400 expected, children&#39;s area in use" in page
    assert page.index("Caretaker Yusuf") < page.index("Office manager")
    assert 'href="tel:4165550177;ext=12"' in page and "KEYS" in page and "Arabic, Urdu" in page
    for text in ("Oxygen cylinders", "Knox box", "West wall", "Inside the main doors", "capacity 600"):
        assert text in page
    assert "May be out of date" not in page


def test_card_warns_when_the_record_is_stale(browser_for, make_user, make_building) -> None:
    building = make_building(name="Old Chapel")
    building.last_verified_at = utcnow() - dt.timedelta(days=181)
    db.session.commit()
    page = browser_for(make_user(Role.OFFICER)).get(f"/r/buildings/{building.id}").get_data(as_text=True)
    assert "May be out of date" in page and "181 days ago" in page
    assert "No gathering scheduled" in page and "No contacts on record" in page
    building.last_verified_at = utcnow() - dt.timedelta(days=179)
    db.session.commit()
    assert "May be out of date" not in browser_for(make_user(Role.OFFICER)).get(
        f"/r/buildings/{building.id}").get_data(as_text=True)


# --- the plan ------------------------------------------------------------------------------

def test_plan_page_carries_floors_in_the_partners_order_with_a_grid(browser_for, make_user, make_building) -> None:
    building = make_building(name="Two Floors")
    version = published_plan(building, ("Basement", 3000, 2000, 4), ("Ground floor", 4000, 3000, 4))
    page = browser_for(make_user(Role.OFFICER)).get(f"/r/buildings/{building.id}/plan").get_data(as_text=True)
    pages = json.loads(re.search(r"data-pages='([^']*)'", page).group(1).replace("&#34;", '"'))
    assert [p["label"] for p in pages] == ["Ground floor", "Basement"]  # position, not PDF order
    ground = pages[0]
    assert ground["tile_url"] == f"/r/tiles/{version.key}/2/{{z}}/{{x}}/{{y}}.webp"
    assert (ground["width"], ground["height"], ground["max_zoom"], ground["tile_size"]) == (4000, 3000, 4, 256)
    assert ground["grid"]["columns"] == 10 and ground["grid"]["rows"] == 8 and ground["grid"]["cell"] == 400
    assert '>Ground floor</button>' in page and "leaflet.js" in page


def test_plan_page_without_a_published_plan(browser_for, make_user, make_building) -> None:
    officer = make_user(Role.OFFICER)
    building = make_building()
    page = browser_for(officer).get(f"/r/buildings/{building.id}/plan").get_data(as_text=True)
    assert "No plan has been published" in page
    assert events(building) == []  # nothing was shown
    card = browser_for(officer).get(f"/r/buildings/{building.id}").get_data(as_text=True)
    assert "/plan" not in card


# --- the access log ----------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.OFFICER, Role.PLANNER, Role.ADMIN])
def test_every_view_of_a_card_or_plan_is_logged(browser_for, make_user, make_building, role) -> None:
    reader = make_user(role)
    building = make_building()
    published_plan(building, ("Ground floor", 1000, 800, 2))
    browser = browser_for(reader)
    assert browser.get(f"/r/buildings/{building.id}").status_code == 200
    assert browser.get(f"/r/buildings/{building.id}/plan").status_code == 200
    assert browser.get(f"/r/buildings/{building.id}").status_code == 200
    assert browser.get(f"/r/buildings/{building.id}/plan", headers={"X-Offline-Copy": "1"}).status_code == 200
    assert events(building) == [
        (reader.id, "view_record", ""), (reader.id, "view_plan", ""), (reader.id, "view_record", ""),
        (reader.id, "keep_offline", "plan"),
    ]


def test_partners_read_only_their_own_buildings_log(browser_for, make_user, make_building) -> None:
    officer = make_user(Role.OFFICER)
    partner, other_partner = make_user(Role.PARTNER), make_user(Role.PARTNER)
    mine = make_building(partner.organisation, name="Our Mosque")
    theirs = make_building(other_partner.organisation, name="Their Church")
    published_plan(mine, ("Ground floor", 1000, 800, 2))
    officer_browser = browser_for(officer)
    officer_browser.get(f"/r/buildings/{mine.id}/plan")
    officer_browser.get(f"/r/buildings/{theirs.id}")
    own_partner = browser_for(partner)
    own_partner.get(f"/r/buildings/{mine.id}/plan")  # a partner's look at their own: not logged
    assert events(mine) == [(officer.id, "view_plan", "")]
    log = own_partner.get(f"/portal/buildings/{mine.id}/access-log").get_data(as_text=True).split("<tbody>", 1)[1]
    assert officer.email in log and "viewed the plan" in log  # the rows, in the filter's words
    assert own_partner.get(f"/portal/buildings/{theirs.id}/access-log").status_code == 404
    other_log = browser_for(other_partner).get(f"/portal/buildings/{theirs.id}/access-log").get_data(as_text=True)
    rows = other_log.split("<tbody>", 1)[1]
    assert "viewed the record" in rows and "viewed the plan" not in rows
    choices = other_log.split("<tbody>", 1)[0]  # the "What" filter offers every action in the same words
    assert all(f'value="{action}" >{words}<' in choices for action, words in access.ACTION_WORDS.items())


# --- assets, service worker, sign-out --------------------------------------------------------

def test_fingerprinted_assets_are_immutable_and_gzipped(browser_for, make_user, make_building) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    page = officer.get(f"/r/buildings/{make_building().id}").get_data(as_text=True)
    finder = ScriptAndStyleFinder()
    finder.feed(page)
    css_url = re.search(r'href="(/r/assets/css/incar\.css\?v=[0-9a-f]{12})"', page).group(1)
    response = officer.client.get(css_url, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in response.headers["Vary"]
    assert b"html.night" in gzip.decompress(response.data)
    stale = officer.client.get("/r/assets/css/incar.css?v=000000000000")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert officer.client.get("/r/assets/../floorplans/config.py").status_code == 404
    for url in finder.scripts:
        assert url.startswith("/r/assets/js/") and "?v=" in url
    leaflet = officer.client.get("/r/vendor/leaflet-1.9.3/leaflet.js")
    assert leaflet.status_code == 200 and leaflet.headers["Cache-Control"].endswith("immutable")
    assert b"Leaflet 1.9.3" in leaflet.data[:200]
    assert officer.client.get("/r/vendor/leaflet-1.9.3/leaflet-src.js.map").status_code == 404
    assert officer.client.get("/r/vendor/leaflet-0.7/leaflet.js").status_code == 404


def test_an_asset_s_hash_is_kept_per_process_and_read_again_while_debugging(app, tmp_path, monkeypatch) -> None:
    """Pages link each file by its content's hash, worked out once per process (a deployment
    changes files only with a restart); with the debugger on, an edited file's new hash."""
    from blueprints.response import assets
    from blueprints.response.assets import asset_url

    monkeypatch.setattr(assets, "_digests", {})  # this process's hashes: none from another test's app
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "only-in-this-test.css"
    sheet.write_text("a { color: red }")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    with app.test_request_context("/r/"):
        first = asset_url("css/only-in-this-test.css")
        # Another size too: two writes within one clock tick can share a modification time.
        sheet.write_text("a { color: navy; font-weight: bold }")
        assert asset_url("css/only-in-this-test.css") == first
        monkeypatch.setattr(app, "debug", True)
        edited = asset_url("css/only-in-this-test.css")
    assert edited != first and edited.startswith("/r/assets/css/only-in-this-test.css?v=")


def test_an_asset_is_not_gzipped_for_a_browser_that_refuses_gzip(browser_for, make_user, make_building) -> None:
    # "gzip;q=0" names gzip to refuse it (RFC 9110 12.5.3): the plain file, still varying on the header.
    officer = browser_for(make_user(Role.OFFICER))
    page = officer.get(f"/r/buildings/{make_building().id}").get_data(as_text=True)
    css_url = re.search(r'href="(/r/assets/css/incar\.css\?v=[0-9a-f]{12})"', page).group(1)
    response = officer.client.get(css_url, headers={"Accept-Encoding": "gzip;q=0, br"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert b"html.night" in response.data and "Accept-Encoding" in response.headers["Vary"]


def test_in_car_pages_have_no_inline_script_or_style(browser_for, make_user, make_building) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    building = make_building()
    published_plan(building, ("Ground floor", 1000, 800, 2))
    for url in ("/r/", "/r/?q=masjid", f"/r/buildings/{building.id}", f"/r/buildings/{building.id}/plan"):
        response = officer.get(url)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store", url
        finder = ScriptAndStyleFinder()
        finder.feed(response.get_data(as_text=True))
        assert finder.inline == [], url


def test_night_mode_is_applied_before_the_first_paint(browser_for, make_user) -> None:
    """theme.js is a blocking script in <head>, before the stylesheet: the browser cannot paint
    the page before it has set html.night, so a night-mode page never flashes white."""
    page = browser_for(make_user(Role.OFFICER)).get("/r/").get_data(as_text=True)
    head = page[: page.index("<body")]
    theme = re.search(r'<script src="/r/assets/js/theme\.js\?v=[0-9a-f]{12}"></script>', head)
    assert theme is not None, "theme.js must be a plain (blocking) script in <head>"
    assert theme.start() < head.index('rel="stylesheet"')


def test_service_worker_script(browser_for, make_user) -> None:
    response = browser_for(make_user(Role.OFFICER)).client.get("/r/sw.js")
    assert response.mimetype == "text/javascript" and response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/r/"
    text = response.get_data(as_text=True)
    # Strict mode: the directive counts only before the constants written in front of sw.js.
    assert text.startswith('"use strict";\n')
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", text).group(1))
    assert "/r/" in shell and any(u.startswith("/r/vendor/leaflet-1.9.3/leaflet.js") for u in shell)
    assert all("?v=" in u for u in shell if u.startswith("/r/assets/"))
    assert 'addEventListener("fetch"' in text


def test_signing_out_clears_offline_copies(browser_for, make_user) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    response = officer.post("/logout")
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert "Clear-Site-Data" not in officer.get("/login").headers


def test_keep_offline_pack(browser_for, make_user, make_building) -> None:
    partner = make_user(Role.PARTNER)
    officer = browser_for(make_user(Role.OFFICER))
    big = make_building(name="Cathedral", city="Toronto")
    published_plan(big, ("Nave", 13000, 9000, 6))
    small = make_building(name="Chapel", city="Toronto")
    published_plan(small, ("Ground", 1000, 700, 2))
    bare = make_building(name="Prayer room", city="Toronto")
    make_building(name="Elsewhere", city="Ottawa")
    hidden = make_building(partner.organisation, name="Partner's own", city="Toronto")
    pack = officer.get(f"/r/offline/pack?ids={big.id},{small.id},{bare.id}").get_json()
    by_name = {b["name"]: b for b in pack["buildings"]}
    assert by_name["Cathedral"]["pages"] == [f"/r/buildings/{big.id}", f"/r/buildings/{big.id}/plan"]
    assert [lv["zoom"] for lv in by_name["Cathedral"]["plan_pages"][0]["levels"]] == [0, 1, 2, 3, 4, 5]
    assert [lv["zoom"] for lv in by_name["Chapel"]["plan_pages"][0]["levels"]] == [0, 1, 2]
    assert by_name["Prayer room"] == {"id": bare.id, "name": "Prayer room", "pages": [f"/r/buildings/{bare.id}"],
                                      "plan_pages": [], "photos": [], "bytes": offline.PAGE_BYTES}
    assert by_name["Chapel"]["plan_pages"][0]["tiles"] == 1 + 2 * 2 + 4 * 3  # 250x175, 500x350, 1000x700
    assert pack["files"] == 2 + by_name["Cathedral"]["plan_pages"][0]["tiles"] + 2 + 17 + 1
    city = officer.get("/r/offline/pack?city=toronto").get_json()
    assert {b["name"] for b in city["buildings"]} == {"Cathedral", "Chapel", "Prayer room", "Partner's own"}
    partner_pack = browser_for(partner).get(f"/r/offline/pack?ids={big.id},{hidden.id}").get_json()
    assert [b["name"] for b in partner_pack["buildings"]] == ["Partner's own"]
    assert officer.get("/r/offline/pack?ids=1,x").status_code == 422
