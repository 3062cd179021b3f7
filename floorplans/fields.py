"""The fields of each record, declared once: the web forms render them, the services
clean and validate with them, and the OpenAPI document describes them.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from floorplans.bounds import describe_character, forbidden_character
from floorplans.errors import InvalidInput

Kind = Literal[
    "text", "textarea", "int", "float", "bool", "date", "time", "email", "phone", "weekday",
    "weekdays", "choice",
]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_PHONE = re.compile(r"^\+?[0-9 ().\-]{7,25}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_TIME = re.compile(r"^([01]?[0-9]|2[0-3])[:h]?([0-5][0-9])$")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: Kind = "text"
    required: bool = False
    max_length: int = 200
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    group: str = ""

    def clean(self, raw: Any) -> Any:
        """Turn a submitted value (form string or JSON value) into a stored value.

        Raises ValueError with a message for the user."""
        if self.kind == "bool":
            return _clean_bool(raw)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise ValueError("is required.")
            return self.empty()
        if self.kind in ("text", "textarea", "email", "phone", "choice"):
            if not isinstance(raw, str):
                raise ValueError("must be text.")
            value = raw.strip() if self.kind != "textarea" else raw.strip().replace("\r\n", "\n")
            _refuse_control_characters(value, multiline=self.kind == "textarea")
            if len(value) > self.max_length:
                raise ValueError(f"is too long ({len(value)} characters, at most {self.max_length}).")
            if self.kind == "email" and not _EMAIL.match(value):
                raise ValueError("is not an e-mail address (for example name@example.org).")
            if self.kind == "phone" and not _PHONE.match(value):
                raise ValueError("is not a phone number (digits, spaces, + ( ) - and an optional ext).")
            if self.kind == "choice" and value not in self.choices:
                raise ValueError(f"must be one of: {', '.join(self.choices)}.")
            return value
        if self.kind in ("int", "float"):
            return self._clean_number(raw)
        if self.kind == "date":
            return _clean_date(raw)
        if self.kind == "time":
            return _clean_time(raw)
        if self.kind == "weekday":
            return _clean_weekday(raw)
        if self.kind == "weekdays":
            return _clean_weekdays(raw)
        raise AssertionError(self.kind)

    def empty(self) -> Any:
        return "" if self.kind in ("text", "textarea", "email", "phone", "choice", "weekdays") else None

    def _clean_number(self, raw: Any) -> int | float:
        if isinstance(raw, bool):
            raise ValueError("must be a number.")
        try:
            value: int | float = int(str(raw).strip()) if self.kind == "int" else float(str(raw).strip())
        except ValueError:
            raise ValueError("must be a whole number." if self.kind == "int" else "must be a number.") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a number.")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}.")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}.")
        return value

    def to_json(self, value: Any) -> Any:
        if isinstance(value, dt.time):
            return value.strftime("%H:%M")
        if isinstance(value, dt.date):
            return value.isoformat()
        if self.kind == "weekdays":
            return [int(d) for d in value or ""]
        return value

    def to_form(self, value: Any) -> str:
        """The value as an HTML input shows it."""
        if value is None:
            return ""
        if isinstance(value, dt.time):
            return value.strftime("%H:%M")
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    def openapi(self) -> dict[str, Any]:
        schemas: dict[str, dict[str, Any]] = {
            "text": {"type": "string"},
            "textarea": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "phone": {"type": "string"},
            "choice": {"type": "string", "enum": list(self.choices)},
            "int": {"type": "integer"},
            "float": {"type": "number"},
            "bool": {"type": "boolean"},
            "date": {"type": "string", "format": "date"},
            "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "13:30"},
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6, "description": "Monday = 0"},
            "weekdays": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 6},
                "description": "Monday = 0",
            },
        }
        schema = schemas[self.kind]
        if self.kind in ("text", "textarea", "email", "phone"):
            schema["maxLength"] = self.max_length
        # Empty is how an optional e-mail or choice is sent and answered ("" is no e-mail address).
        if not self.required and self.kind == "choice":
            schema["enum"] = [*self.choices, ""]
        elif not self.required and self.kind == "email":
            schema = {"anyOf": [schema, {"type": "string", "enum": [""]}]}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if not self.required and self.kind in ("int", "float", "date", "time", "weekday"):
            schema["nullable"] = True
        schema["description"] = (self.label + (f". {self.help}" if self.help else "")).strip()
        return schema


@dataclass(frozen=True)
class RecordFields:
    """The fields of one kind of record, in form order."""

    fields: tuple[Field, ...]
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def clean(self, raw: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """Clean every field in ``raw``; with ``partial`` (PATCH) only the fields given.

        Unknown names are refused so that a typo in an API call is never silently ignored."""
        unknown = sorted(set(raw) - set(self.by_name))
        errors: dict[str, str] = {name: "is not a field of this record." for name in unknown}
        cleaned: dict[str, Any] = {}
        for f in self.fields:
            if partial and f.name not in raw:
                continue
            try:
                cleaned[f.name] = f.clean(raw.get(f.name))
            except ValueError as exc:
                errors[f.name] = str(exc)
        if errors:
            raise InvalidInput(errors)
        return cleaned

    def to_json(self, record: Any) -> dict[str, Any]:
        return {f.name: f.to_json(getattr(record, f.name)) for f in self.fields}

    def openapi(self, *, required: bool = True, closed: bool = True) -> dict[str, Any]:
        """The fields as a JSON schema object: ``closed`` (request bodies) refuses other
        names, as ``clean`` does; an answer that adds its own (ids, times) is not closed."""
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: f.openapi() for f in self.fields},
        }
        if closed:
            schema["additionalProperties"] = False
        names = [f.name for f in self.fields if f.required]
        if required and names:
            schema["required"] = names
        return schema

    def groups(self) -> list[tuple[str, list[Field]]]:
        result: list[tuple[str, list[Field]]] = []
        for f in self.fields:
            if not result or result[-1][0] != f.group:
                result.append((f.group, []))
            result[-1][1].append(f)
        return result


def record_values(record: object, fields: Iterable[Field]) -> dict[str, Any]:
    """A record's fields as its edit form shows them first (``form_values`` reads them back)."""
    return {f.name: getattr(record, f.name) for f in fields}


def form_values(raw: Mapping[str, Any], fields: Iterable[Field]) -> dict[str, Any]:
    """Pick a record's fields out of an HTML form (unchecked boxes are absent, so False)."""
    values: dict[str, Any] = {}
    for f in fields:
        if f.kind == "bool":
            values[f.name] = f.name in raw
        elif f.kind == "weekdays":
            getlist = getattr(raw, "getlist", None)
            values[f.name] = getlist(f.name) if getlist else raw.get(f.name, [])
        else:
            values[f.name] = raw.get(f.name, "")
    return values


#: Line breaks and tabs, which only a textarea keeps (floorplans.bounds refuses the rest of C0
#: and C1, DEL and lone surrogates in every field and every request).
_LINE_CONTROLS = re.compile(r"[\t\n\r\u2028\u2029]")


def _refuse_control_characters(value: str, *, multiline: bool) -> None:
    """NUL and other control characters are refused on every engine (PostgreSQL cannot
    store NUL; a C1 or a lone surrogate is never typed), line breaks in one-line fields."""
    named = forbidden_character(value)
    if named is None and not multiline:
        found = _LINE_CONTROLS.search(value)
        named = describe_character(found.group()) if found else None
        if named is not None:
            raise ValueError(f"must be one line: it contains a line break or tab ({named}).")
    if named is not None:
        raise ValueError(f"contains a control character ({named}) that cannot be stored; remove it "
                         "(it is often pasted by mistake from another program).")


def _clean_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw is None or raw == "":
        return False
    if isinstance(raw, str) and raw.strip().lower() in ("1", "true", "yes", "on", "y"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("0", "false", "no", "off", "n"):
        return False
    raise ValueError("must be true or false.")


def _clean_date(raw: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValueError("must be a date like 2026-12-24.") from None


def _clean_time(raw: Any) -> dt.time:
    match = _TIME.match(str(raw).strip())
    if not match:
        raise ValueError("must be a time like 13:30 (24-hour clock).")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _clean_weekday(raw: Any) -> int:
    text = str(raw).strip()
    if text.isdigit() and 0 <= int(text) <= 6:
        return int(text)
    for number, name in enumerate(WEEKDAYS):
        if text.lower() in (name.lower(), name[:3].lower()):
            return number
    raise ValueError("must be a day of the week.")


def _clean_weekdays(raw: Any) -> str:
    items = raw if isinstance(raw, list | tuple) else [c for c in str(raw) if not c.isspace()]
    days = sorted({_clean_weekday(item) for item in items})
    return "".join(str(d) for d in days)
