"""The address of a plan tile, spelt here and taken from here by everything else.

One grammar serves four places, because they all end the same way:

- the storage key:        ``tiles/<version key>/<page>/<z>/<x>/<y>.webp`` (floorplans.objects)
- the app's tile routes:  ``/r/tiles/<version key>/<page>/<z>/<x>/<y>.webp`` (the in-car
  view, where the tile gate answers too) and ``/api/v1/tiles/...`` (API clients)
- the tile front's signed URLs (floorplans.tile_links, the nginx ``location`` it prints):
  ``<TILE_URL_BASE>/<expires>/<signature>/<version key>/<page>/<z>/<x>/<y>.webp``, whose
  ``<version key>/<page>`` is what the signature covers
- the in-car JavaScript (static/js/sw.js, static/js/incar.js), which receives
  ``for_browser()`` from the page's data and the service worker's header and never spells
  the shape itself.

So nginx can serve a signed URL's tail straight from ``<storage root>/tiles/``, and the
service worker keeps a signed tile under the app's own tile URL.

Must not import Flask, blueprints, storage or converters: the gate, the bench and the
JavaScript's settings read it without an app.
"""
from __future__ import annotations

import re
from typing import Any, TypedDict

#: The folder of every version's tiles, in the store and under the tile routes.
FOLDER = "tiles"
#: What a version key is made of (``secrets.token_urlsafe``); the signed URL's signature too.
KEY_CHARACTERS = "[A-Za-z0-9_-]+"
#: How long each number may be in a URL the gate answers (more goes through Flask, which
#: refuses it: floorplans.bounds).
_PAGE, _ZOOM, _COLUMN = "[0-9]{1,6}", "[0-9]{1,3}", "[0-9]{1,9}"

#: The Flask rules of the tile routes, under each blueprint's own prefix.
ROUTE = f"/{FOLDER}/<version_key>/<int:page>/<int:z>/<int:x>/<int:y>.webp"
OVERVIEW_ROUTE = f"/{FOLDER}/<version_key>/<int:page>/overview.webp"
#: Where the in-car view's tile route answers (its blueprint's ``/r`` prefix + ``ROUTE``):
#: the tile gate answers the same paths before Flask (a test checks the two agree).
IN_CAR_PREFIX = f"/r/{FOLDER}/"
#: Leaflet's placeholders after a page's path.
LEAFLET_TAIL = "/{z}/{x}/{y}.webp"
#: A tile's address never changes (a new plan is a new version key), so whoever answers it
#: (the tile routes, the gate, the tile front) lets browsers keep it for a year; ``private``
#: keeps shared caches from storing access-checked images.
CACHE_CONTROL = "private, max-age=31536000, immutable"


def page_path(version_key: str, page: int) -> str:
    """``<version key>/<page>``: the part of a tile URL a signed URL's signature covers."""
    return f"{version_key}/{page}"


def tile_path(version_key: str, page: int, z: int, x: int, y: int, ext: str = "webp") -> str:
    """``<version key>/<page>/<z>/<x>/<y>.webp``: the tail every tile address ends with."""
    return f"{page_path(version_key, page)}/{z}/{x}/{y}.{ext}"


def storage_key(version_key: str, page: int, z: int, x: int, y: int, ext: str = "webp") -> str:
    return f"{FOLDER}/{tile_path(version_key, page, z, x, y, ext)}"


def leaflet_template(page_url: str) -> str:
    """Leaflet's URL template from a page's path (``.../<version key>/<page>``)."""
    return page_url.rstrip("/") + LEAFLET_TAIL


class TileAddress(TypedDict):
    """A tile's place in a page's pyramid: the route's numbers, as ``url_for`` takes them."""

    z: int
    x: int
    y: int


#: The tile whose route URL ``template_from_sample`` turns into a template (``url_for``
#: cannot write Leaflet's placeholders where the route wants numbers).
SAMPLE: TileAddress = {"z": 0, "x": 0, "y": 0}


def template_from_sample(sample_url: str) -> str:
    """Leaflet's template from the URL of the ``SAMPLE`` tile of a page."""
    tail = LEAFLET_TAIL.format(**SAMPLE)
    if not sample_url.endswith(tail):
        raise ValueError(f"{sample_url!r} is not the URL of tile {SAMPLE}")
    return leaflet_template(sample_url.removesuffix(tail))


def tile_url_from_template(template: str, z: int, x: int, y: int) -> str:
    return template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def signed_template(base: str, expires: int, signature: str, version_key: str, page: int) -> str:
    """A tile front's URL template for one page (floorplans.tile_links signs it)."""
    return leaflet_template(f"{base.rstrip('/')}/{expires}/{signature}/{page_path(version_key, page)}")


def gate_pattern(prefix: str = IN_CAR_PREFIX) -> re.Pattern[str]:
    """The tile GETs under ``prefix`` (the tile gate's paths); groups: version key, page, z,
    x, y."""
    return re.compile(re.escape(prefix) + f"({KEY_CHARACTERS})/({_PAGE})/({_ZOOM})/({_COLUMN})/({_COLUMN})\\.webp")


def nginx_pattern(base: str) -> str:
    """The nginx (PCRE) ``location`` regex of signed tile URLs under ``base``; named groups
    ``tl_expires``, ``tl_sig``, ``tl_prefix`` (``<version key>/<page>``) and ``tl_rest``."""
    return (f"^{base.rstrip('/')}/(?<tl_expires>[0-9]+)/(?<tl_sig>{KEY_CHARACTERS})"
            f"/(?<tl_prefix>{KEY_CHARACTERS}/[0-9]+)/(?<tl_rest>[0-9]+/[0-9]+/[0-9]+\\.webp)$")


# The in-car JavaScript's regular expressions (JavaScript syntax; this subset reads the same
# in Python, which the tests use to check them against the URLs made here).
_BROWSER_TILE = f"/{FOLDER}/({KEY_CHARACTERS})/(\\d+)/(\\d+)/(\\d+)/(\\d+)\\.webp$"
_BROWSER_SIGNED = f"\\d+/{KEY_CHARACTERS}/({KEY_CHARACTERS}/\\d+/\\d+/\\d+/\\d+\\.webp)$"


def for_browser() -> dict[str, Any]:
    """The grammar as static/js/sw.js and static/js/incar.js use it (JSON):

    - ``tile``: a regex matching the end of a tile path; groups version key, page, z, x, y
    - ``tileTail``: that tail to fill (``{key}``, ``{page}``, ``{z}``, ``{x}``, ``{y}``),
      replacing what ``tile`` matched
    - ``signed``: a regex matching a signed URL's path after the front's base; group 1 is
      the tile path (``<version key>/<page>/<z>/<x>/<y>.webp``)
    - ``signedTail``: the same at the end of any path (the page does not know the front's base)
    - ``folder``: the tile folder under the in-car view's path (``tiles/``), where a signed
      tile is kept under the app's own URL
    """
    return {
        "tile": _BROWSER_TILE,
        "tileTail": f"/{FOLDER}/{{key}}/{{page}}/{{z}}/{{x}}/{{y}}.webp",
        "signed": "^" + _BROWSER_SIGNED,
        "signedTail": "/" + _BROWSER_SIGNED,
        "folder": f"{FOLDER}/",
    }
