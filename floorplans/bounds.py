"""Bounded input: what every request may send before any route sees it.

- Record ids: every ``<int:...>`` URL part is refused (404, "no such record") past the largest
  id a database can hold (2^63 - 1), and ``record_id`` does the same for ids sent in a JSON
  body or a query string, so no id ever reaches SQL as a number SQLite or PostgreSQL cannot
  bind (a 500 before).
- Sizes: the URL (path and query string) is capped at ``URL_MAX_CHARS`` (414 past it); a
  body that is not a file upload (JSON, a form) at ``BODY_MAX_KB`` (413), far below
  ``MAX_CONTENT_LENGTH``, which stays for PDF uploads (multipart) only; JSON nested deeper
  than ``JSON_MAX_DEPTH`` is refused (422) instead of exhausting Python's recursion.
- Characters: NUL and other control characters (C0 but tab, line feed and carriage return;
  DEL; C1) and lone surrogates are refused (422) in the query string, in form fields and in
  JSON strings, keys included.  PostgreSQL cannot store NUL in text at all, and neither engine
  can store a lone surrogate; no legitimate record or search holds either.  Single-line record
  fields are stricter still (``floorplans.fields``).  A URL path holding them matches no route.
- Display: ``neutralise_bidi`` removes the bidirectional controls (embeddings, overrides,
  isolates and the direction marks) from user text as templates show it: a right-to-left
  override made a card's text, a phone number included, read backwards.  Arabic and Hebrew
  letters carry their own direction and still display right to left.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, abort, request
from flask.typing import ResponseReturnValue
from werkzeug.routing import IntegerConverter, Map, ValidationError

from floorplans.config import get_settings
from floorplans.errors import InvalidInput, NotFound

#: The largest id SQLite's INTEGER and PostgreSQL's BIGINT hold (PostgreSQL's INTEGER ids are
#: smaller, but comparing one with any BIGINT is fine: the row is simply not found).
MAX_RECORD_ID = 2**63 - 1
_MAX_ID_DIGITS = len(str(MAX_RECORD_ID))

#: NUL, the other C0 controls but tab, line feed and carriage return, DEL, the C1 controls,
#: and lone surrogates (JSON's "\\ud800" escapes make them; UTF-8 cannot encode them).
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

#: Unicode's explicit bidirectional formatting characters: embeddings and overrides
#: (U+202A-U+202E), isolates (U+2066-U+2069) and the marks (LRM, RLM, ALM).
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI_TABLE = dict.fromkeys(map(ord, BIDI_CONTROLS))


def neutralise_bidi(value: Any) -> Any:
    """``value`` without bidirectional controls when it is text (Markup stays Markup).

    Jinja's ``finalize`` for every template: each ``{{ ... }}`` passes through it, so no page
    (the card, the portal, the admin's) can forget it for a field added later."""
    if isinstance(value, str) and _has_bidi(value):
        return value.translate(_BIDI_TABLE)  # Markup.translate answers Markup: still not escaped twice
    return value


_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def _has_bidi(text: str) -> bool:
    # Every value of every page passes here: most are ASCII, which holds none.
    return not text.isascii() and _BIDI.search(text) is not None


def describe_character(character: str) -> str:
    """How a refusal names a character nobody can see: "U+0000"."""
    return f"U+{ord(character):04X}"


def forbidden_character(text: str) -> str | None:
    """The first character of ``text`` no field or search may hold, named, or None."""
    found = FORBIDDEN_CHARACTERS.search(text)
    return describe_character(found.group()) if found else None


def fits_record_id(digits: str) -> bool:
    """Whether a string of ASCII digits is a number a record's id can be."""
    digits = digits.lstrip("0")
    return bool(digits) and (len(digits) < _MAX_ID_DIGITS
                             or (len(digits) == _MAX_ID_DIGITS and int(digits) <= MAX_RECORD_ID))


def record_id(raw: object, name: str) -> int:
    """An id sent in a JSON body (a number) or a query string (digits).  Not a whole
    number: 422 naming ``name``; a number no record can have (0, negative, past 2^63 - 1):
    404, as an id of someone else's record is."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidInput({name: "must be a record's id (a whole number)."})
    if isinstance(raw, str):
        text = raw.strip()
        if not text.isascii() or not text.isdigit():
            raise InvalidInput({name: "must be a record's id (a whole number)."})
        digits = text.lstrip("0") or "0"
        if len(digits) > _MAX_ID_DIGITS:
            raise NotFound("There is no such record, or it is not yours to see.")
        raw = int(digits)
    if not 1 <= raw <= MAX_RECORD_ID:
        raise NotFound("There is no such record, or it is not yours to see.")
    return raw


def _at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0..``limit`` (leading zeros allowed)."""
    digits = str(limit)
    shorter = f"[0-9]{{1,{len(digits) - 1}}}"
    same_length = [
        f"{digits[:i]}[0-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}" for i, d in enumerate(digits) if d != "0"
    ]
    return "0*(?:" + "|".join([shorter, *same_length, digits]) + ")"


class RecordIdConverter(IntegerConverter):
    """``<int:...>`` for every rule: ASCII digits of a number up to 2^63 - 1.  Larger ones do
    not match the rule at all, so the answer is 404 like any unknown address (refusing them in
    ``to_python`` instead would make werkzeug answer 405 where another method's rule has the
    same path), and ``int()`` never sees thousands of digits (a ValueError, a 500)."""

    regex = _at_most(MAX_RECORD_ID)

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_RECORD_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        if self.fixed_digits and len(value) != self.fixed_digits:
            raise ValidationError()
        digits = value.lstrip("0") or "0"
        if len(digits) > _MAX_ID_DIGITS:
            raise ValidationError()
        number = int(digits)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise ValidationError()
        return number


# --- every request ------------------------------------------------------------------------

def is_upload() -> bool:
    """PDF uploads are multipart: the only bodies allowed MAX_CONTENT_LENGTH."""
    return request.mimetype == "multipart/form-data"


def body_limit() -> int:
    """The largest body this request may send, in bytes."""
    if is_upload():
        return get_settings().max_content_length
    return get_settings().body_max_kb * 1024


def _strings(value: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for every key and string in a parsed JSON document, without recursion."""
    stack: list[tuple[str, Any]] = [("body", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, child in item.items():
                yield where, key
                stack.append((key if where == "body" else f"{where}.{key}", child))
        elif isinstance(item, list):
            stack.extend((where, child) for child in item)


def _json_depth(data: bytes) -> int:
    """How deeply brackets nest in a JSON text (strings skipped), counted before parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _refuse_characters(where: str, text: str) -> None:
    named = forbidden_character(text)
    if named is not None:
        raise InvalidInput(
            {where: f"contains a control character ({named}) that no field or search can hold; remove it."},
            f"{where.replace('_', ' ').capitalize()}: contains a control character ({named}); "
            "remove it (it is often pasted by mistake from another program) and send it again.",
        )


def check_request() -> ResponseReturnValue | None:
    """Before any route (and before signing in is checked): the URL, the body's size, and
    the characters of the query string, the form and a JSON body."""
    settings = get_settings()
    environ = request.environ
    url_chars = len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
    if url_chars > settings.url_max_chars:
        abort(414)
    limit = body_limit()
    request.max_content_length = limit  # also holds a body sent without Content-Length
    if request.content_length is not None and request.content_length > limit:
        abort(413)
    for key, value in request.args.items(multi=True):
        _refuse_characters(key, key)
        _refuse_characters(key, value)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in request.form.items(multi=True):
                # A part whose name werkzeug cannot read comes with a None name (seen with the
                # photo upload's random extra fields): its value is still checked.
                name = key or ""
                _refuse_characters(name, name)
                _refuse_characters(name, value)
        elif request.is_json:
            data = request.get_data(cache=True)
            if _json_depth(data) > settings.json_max_depth:
                raise InvalidInput({"body": f"nests deeper than {settings.json_max_depth} levels."},
                                   "The JSON body nests too deeply; send the record's fields as one flat object.")
            for where, text in _strings(request.get_json(silent=True)):
                _refuse_characters(where, text)
    return None


def init_app(app: Flask) -> None:
    """Register the id converter (before any blueprint adds its rules) and the checks (before
    every other ``before_request``: nothing reads an oversized or malformed request first)."""
    app.url_map.converters["int"] = RecordIdConverter
    app.before_request(check_request)

    @app.url_value_preprocessor
    def refuse_control_characters_in_paths(endpoint: str | None, values: dict[str, Any] | None) -> None:
        # A path part such as an asset's file name with NUL would reach the filesystem or SQL.
        if values and any(isinstance(v, str) and FORBIDDEN_CHARACTERS.search(v) for v in values.values()):
            abort(404)
