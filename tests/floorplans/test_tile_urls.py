"""The tile URL grammar (floorplans.tile_urls) is the one every tile address follows: the
routes, the gate, the storage keys, the signed front and the in-car JavaScript's patterns."""
from __future__ import annotations

import contextlib
import html
import io
import json
import re
from dataclasses import replace

from flask import Flask, url_for

from floorplans import objects, tile_gate, tile_links, tile_urls
from floorplans.config import get_settings
from floorplans.models import Role
from tests.test_layout import ROOT


def test_the_routes_and_the_gate_answer_the_grammars_paths(app: Flask) -> None:
    with app.test_request_context():
        in_car = url_for("response.tile", version_key="k3y_-", page=2, z=3, x=4, y=5)
        api = url_for("api.tile", version_key="k3y_-", page=2, z=3, x=4, y=5)
    assert in_car == tile_urls.IN_CAR_PREFIX + tile_urls.tile_path("k3y_-", 2, 3, 4, 5)
    assert api.endswith("/" + tile_urls.storage_key("k3y_-", 2, 3, 4, 5))
    # The gate serves exactly the in-car route's paths, numbers and all.
    gate: tile_gate.TileGate = app.extensions[tile_gate.EXTENSION]
    match = gate.pattern.fullmatch(in_car)
    assert match is not None and match.groups() == ("k3y_-", "2", "3", "4", "5")
    assert gate.pattern.fullmatch(api) is None
    assert gate.pattern.fullmatch(in_car.replace(".webp", ".png")) is None


def test_storage_keys_and_signed_urls_end_with_the_tile_path(app: Flask) -> None:
    path = tile_urls.tile_path("abc", 1, 2, 3, 4)
    assert objects.tile_key("abc", 1, 2, 3, 4) == "tiles/" + path
    assert objects.overview_key("abc", 1) == objects.page_prefix("abc", 1) + "overview.webp"
    settings = replace(get_settings(app), tile_url_secret="s" * 32, tile_url_base="/t/", tile_url_lifetime_seconds=3600)
    template = tile_links.tile_url_template(settings, "abc", 1, now=0)
    assert template.startswith("/t/") and template.endswith("/abc/1/{z}/{x}/{y}.webp")
    assert tile_urls.tile_url_from_template(template, 2, 3, 4).endswith("/" + path)


def test_the_browsers_patterns_read_the_urls_made_here(app: Flask) -> None:
    grammar = tile_urls.for_browser()
    tile, signed, tail = (re.compile(grammar[name]) for name in ("tile", "signed", "signedTail"))
    with app.test_request_context():
        url = url_for("response.tile", version_key="abc", page=7, z=3, x=4, y=5)
    match = tile.search(url)
    assert match is not None and match.groups() == ("abc", "7", "3", "4", "5")
    filled = grammar["tileTail"].format(key="abc", page=7, z=3, x=4, y=5)
    assert url.endswith(filled) and tile.search(filled)
    settings = replace(get_settings(app), tile_url_secret="s" * 32, tile_url_base="/t", tile_url_lifetime_seconds=3600)
    front = tile_urls.tile_url_from_template(tile_links.tile_url_template(settings, "abc", 7), 3, 4, 5)
    after_base = front.removeprefix("/t/")
    for pattern, text in ((signed, after_base), (tail, front)):
        found = pattern.search(text)
        assert found is not None and found.group(1) == tile_urls.tile_path("abc", 7, 3, 4, 5)
    # Kept under the app's own tile URL: the in-car scope + folder + that path.
    assert "/r/" + grammar["folder"] + tile_urls.tile_path("abc", 7, 3, 4, 5) == url
    assert signed.search("x/" + after_base) is None  # anchored after the front's base


def _code(script: str) -> str:
    """A script without its comments: those that start a line (a regex literal or a string
    may hold comment markers elsewhere) and ``// ...`` after code."""
    return re.sub(r"^\s*/\*.*?\*/|^\s*//[^\n]*|\s//\s[^\n]*", "", script, flags=re.S | re.M)


def test_no_script_spells_the_tile_address() -> None:
    scripts = sorted((ROOT / "static" / "js").glob("*.js"))
    assert scripts
    spelt = [path.name for path in scripts if re.search(r"\.webp|tiles\\?/", _code(path.read_text()))]
    assert spelt == []
    assert re.search(r"\.webp|tiles\\?/", _code("/* tiles/x.webp */\nconst A = /\\/tiles\\/(\\d+)/;\n"))


def test_the_in_car_page_and_its_worker_carry_the_grammar(make_user, browser_for) -> None:
    officer = browser_for(make_user(Role.OFFICER))
    page = officer.get("/r/")
    assert page.status_code == 200
    found = re.search(r"data-tile-grammar='([^']*)'", page.get_data(as_text=True))
    assert found is not None and json.loads(html.unescape(found.group(1))) == tile_urls.for_browser()
    worker = officer.get("/r/sw.js").get_data(as_text=True)
    assert f"const TILE_GRAMMAR = {json.dumps(tile_urls.for_browser())};" in worker


def test_the_nginx_command_in_the_operations_guide_prints_the_grammars_locations() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    found = re.search(r"flask --app wsgi shell -c '([^']+)'", guide)
    assert found is not None, "docs/operations.md no longer prints the nginx locations"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(found.group(1), {})  # the guide's own one-liner, as an operator runs it
    locations = printed.getvalue()
    assert f"location ~ {tile_urls.nginx_pattern('/t')} {{" in locations
    assert f"alias /srv/floorplans/storage/{tile_urls.FOLDER}/$tl_prefix/$tl_rest;" in locations
    assert f'add_header Cache-Control "{tile_urls.CACHE_CONTROL}" always;' in locations
