"""Partners' changes in words, as an administrator reviewing them reads them.

One audit event becomes a ``Change``: what was done ("added contact “Imran”", "Exterior
door 2 (side B) moved on Ground floor from C4 to D4", "uploaded version 3 (plan.pdf,
5 sheets)"), each field under the label the partner's form gives it (the record's
``RecordFields``: no second list of names here), old and new values as people write them
(yes/no, 12:30, Thu 24 Dec 2026, "(empty)"); markers' words, which need the plan's
sheets for a grid cell, are in ``marker_words``.  Contacts' phone numbers and e-mail come
masked from the log and stay masked.  The log outlives the code that wrote it, so an
action or a field this module does not know still reads as words (names humanised, values
formatted by their shape) and nothing here raises on a detail it did not expect or shows
a Python repr.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from floorplans.config import get_settings
from floorplans.fields import WEEKDAYS, Field, RecordFields
from floorplans.marker_kinds import BY_KEY
from floorplans.models import AuditEvent
from floorplans.services.audit import PRIVATE_FIELDS
from floorplans.services.buildings import BUILDING_FIELDS
from floorplans.services.contacts import CONTACT_FIELDS
from floorplans.services.gatherings import GATHERING_FIELDS
from floorplans.services.markers import MARKER_FIELDS

if TYPE_CHECKING:  # marker_words builds on this module
    from floorplans.services.marker_words import MarkerWords

EMPTY = "(empty)"
#: The form that declares each kind of record's fields, by the audit log's target type.
RECORD_FIELDS: dict[str, RecordFields] = {
    "building": BUILDING_FIELDS, "contact": CONTACT_FIELDS, "gathering": GATHERING_FIELDS, "marker": MARKER_FIELDS,
}  # fmt: skip
#: Values the services keep that no form shows.
EXTRA_LABELS = {("contact", "position"): "Place in the calling order"}
_ISO_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
# plans._page_text: "2. Ground floor (north 90°) (hidden from officers)"
_SHEET = re.compile(r"^(?P<position>\d+)\. (?P<label>.*?)(?: \(north (?P<north>-?[\d.]+)°\))?"
                    r"(?P<hidden> \(hidden from officers\))?$", re.S)  # fmt: skip


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str | None  # None: a record added or removed, one value to show
    after: str


@dataclass(frozen=True)
class Change:
    event_id: int
    at: dt.datetime  # naive UTC, as the log keeps it
    who: str
    record_key: str  # what the review page groups by within a day
    record: str  # the group's title: "The building record", "Contact “Imran”", "Plan"
    headline: str
    fields: tuple[FieldChange, ...] = ()
    notes: tuple[str, ...] = ()


# --- values ----------------------------------------------------------------------------

def humanise(name: Any) -> str:
    """``children_areas_in_use`` -> "Children areas in use"."""
    text = re.sub(r"[_.\s]+", " ", str(name)).strip()
    return text[:1].upper() + text[1:] if text else "(unnamed)"


def local_day(at: dt.datetime) -> dt.date:
    return _local(at).date()


def _local(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC).astimezone(get_settings().zone)


def date_words(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def value_words(value: Any, field: Field | None = None) -> str:
    """A stored value as a person writes it."""
    kind = field.kind if field is not None else ""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool) or kind == "bool":
        return "yes" if value is True or str(value).lower() in ("1", "true", "yes", "on") else "no"
    if kind == "weekday" and isinstance(value, int) and 0 <= value < len(WEEKDAYS):
        return WEEKDAYS[value]
    if kind == "weekdays" and isinstance(value, str | list):
        days = [int(d) for d in value if str(d).isdigit() and int(d) < len(WEEKDAYS)]
        return "every day" if len(days) == len(WEEKDAYS) else ", ".join(WEEKDAYS[d][:3] for d in days) or EMPTY
    if field is MARKER_FIELDS.by_name["kind"] and str(value) in BY_KEY:
        return BY_KEY[str(value)].label
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _text_words(value.strip())
    if isinstance(value, list | tuple):
        return ", ".join(value_words(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{humanise(k)}: {value_words(v)}" for k, v in value.items()) or EMPTY
    return "(a value this page cannot show)"


def _text_words(text: str) -> str:
    """Times of day (kept as wall-clock times of the service's zone), dates and moments
    (naive UTC in the log) in people's form; any other text as it is."""
    try:
        if _ISO_TIME.match(text):
            return dt.time.fromisoformat(text).strftime("%H:%M")
        if _ISO_DATE.match(text):
            return date_words(dt.date.fromisoformat(text))
        if _ISO_DATETIME.match(text):
            return _local(dt.datetime.fromisoformat(text)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        pass
    return text or EMPTY


def field_changes(kind: str, values: Mapping[str, Any], *, one_value: bool = False) -> tuple[FieldChange, ...]:
    """Each field by its form label; ``values`` maps a name to [before, after] (or, with
    ``one_value``, to the value of a record added or removed)."""
    fields = RECORD_FIELDS.get(kind)
    order = {name: i for i, name in enumerate(fields.by_name)} if fields else {}
    lines = []
    for name in sorted(values, key=lambda n: (order.get(n, len(order)), n)):
        if kind == "marker" and name in ("x", "y", "page"):
            continue  # said as a grid cell on a sheet, in the headline
        field = fields.by_name.get(name) if fields else None
        label = field.label if field else EXTRA_LABELS.get((kind, name), humanise(name))
        pair = values[name]
        if one_value:
            lines.append(FieldChange(label, None, value_words(pair, field)))
            continue
        before, after = (pair[0], pair[1]) if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        old, new = value_words(before, field), value_words(after, field)
        if old == new and name in PRIVATE_FIELDS and kind == "contact":
            # Masked alike (same last digits), but the log only records real changes.
            new += " (another e-mail address)" if name == "email" else " (another number)"
        lines.append(FieldChange(label, old, new))
    return tuple(lines)


# --- who and what ----------------------------------------------------------------------

def who(event: AuditEvent) -> str:
    if event.actor_email:
        role = {"partner": "", "admin": "administrator"}.get(event.actor_role, event.actor_role)
        return f"{event.actor_email} ({role})" if role else event.actor_email
    return "the command line" if event.channel == "cli" else "the service, automatically"


def detail_of(event: AuditEvent) -> dict[str, Any]:
    return event.detail if isinstance(event.detail, dict) else {}


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def pairs(detail: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The detail's ``changes``, name -> (before, after), leaving out what is not a pair."""
    changes = mapping(detail.get("changes")).items()
    return {name: (pair[0], pair[1]) for name, pair in changes if isinstance(pair, list | tuple) and len(pair) == 2}


def quoted(text: Any) -> str:
    return f" “{text}”" if text not in (None, "") else ""


def plural(count: Any, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


_RECORD_VERBS = {"create": "added", "update": "changed", "delete": "removed"}


def describe(event: AuditEvent, plans: MarkerWords) -> Change:
    """One event in words; never raises on what the detail holds."""
    noun, _, verb = event.action.partition(".")
    detail = detail_of(event)
    try:
        if noun == "marker":
            return plans.marker_change(event, verb, detail)
        if noun == "plan":
            return _plan_change(event, verb, detail)
        if noun in ("building", "contact", "gathering"):
            return _record_change(event, noun, verb, detail)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        pass  # an unexpected detail: said the generic way below
    return generic_change(event, noun, verb, detail)


def change(event: AuditEvent, key: str, record: str, headline: str, fields: Iterable[FieldChange] = (),
            notes: Iterable[str] = ()) -> Change:  # fmt: skip
    return Change(event.id, event.at, who(event), key, record, headline, tuple(fields), tuple(notes))


def _record_change(event: AuditEvent, noun: str, verb: str, detail: dict[str, Any]) -> Change:
    values = mapping(detail.get("values"))
    name = detail.get("name") or detail.get("label") or values.get("name") or values.get("label")
    if noun == "building":
        key, record, subject = "building", "The building record", "the building record"
    else:
        key, record = f"{noun}-{event.target_id}", f"{noun.capitalize()}{quoted(name)}"
        subject = f"{noun}{quoted(name)}"
    changes = mapping(detail.get("changes"))
    if noun == "contact" and verb == "move" and set(pairs(detail)) == {"position"}:
        before, after = pairs(detail)["position"]
        return change(event, key, record, f"moved {subject} from {before} to {after} in the calling order")
    if verb in ("create", "delete"):
        headline = f"{'created' if noun == 'building' and verb == 'create' else _RECORD_VERBS[verb]} {subject}"
        return change(event, key, record, headline, field_changes(noun, values, one_value=True))
    if verb == "verify":
        return change(event, key, record, f"confirmed {subject} is up to date")
    if verb != "update":
        return generic_change(event, noun, verb, detail)
    return change(event, key, record, f"changed {subject}", field_changes(noun, changes))


def _plan_change(event: AuditEvent, verb: str, detail: dict[str, Any]) -> Change:
    number = detail.get("number", "?")
    if verb == "upload":
        pages = detail.get("pages")
        sheets = f", {plural(pages, 'sheet')}" if isinstance(pages, int) else ""
        return change(event, "plan", "Plan", f"uploaded version {number} ({detail.get('file') or 'a PDF'}{sheets})")
    if verb == "publish":
        replaces = detail.get("replaces")
        again = " again" if detail.get("first_time") is False else ""
        headline = f"published version {number}{again} " + (
            f"(replaces version {replaces})" if replaces is not None else "(the building's first plan)"
        )
        if detail.get("on_behalf_of_partner"):
            headline += ", on the congregation's behalf"
        return change(event, "plan", "Plan", headline)
    if verb == "pages":
        notes = [_sheet_words(str(name), pair) for name, pair in mapping(detail.get("changes")).items()]
        return change(event, "plan", "Plan", f"changed the sheets of version {number}", notes=notes)
    if verb == "delete":
        status = detail.get("status")
        what = f"{status} version" if isinstance(status, str) and status else "version"
        return change(event, "plan", "Plan", f"deleted {what} {number}"
                       + (f" ({detail['file']})" if detail.get("file") else ""))  # fmt: skip
    return generic_change(event, "plan", verb, detail)


def _sheet(value: Any) -> dict[str, Any] | None:
    """A sheet's state as ``plans`` logs it: its text form, or a mapping."""
    if isinstance(value, dict):
        return {"label": value.get("label"), "position": value.get("position"),
                "north": value.get("north", value.get("north_degrees")), "hidden": bool(value.get("hidden"))}
    match = _SHEET.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    north = match["north"]
    return {"label": match["label"], "position": int(match["position"]), "north": float(north) if north else None,
            "hidden": bool(match["hidden"])}  # fmt: skip


def _sheet_words(name: str, pair: Any) -> str:
    number = name.removeprefix("page ").strip()
    old, new = (_sheet(pair[0]), _sheet(pair[1])) if isinstance(pair, list | tuple) and len(pair) == 2 else (None, None)
    if old is None or new is None:
        return f"{humanise(name)}: " + (
            f"{value_words(pair[0])} → {value_words(pair[1])}" if isinstance(pair, list | tuple) and len(pair) == 2
            else value_words(pair)
        )
    sheet, label = f"sheet {number}", new["label"]
    said = []
    if old["label"] != new["label"]:
        said.append(f"renamed {sheet} “{old['label']}” → “{new['label']}”")
    if old["hidden"] != new["hidden"]:
        said.append(f"hid {sheet} ({label})" if new["hidden"] else f"showed {sheet} ({label}) to officers again")
    if old["position"] != new["position"]:
        said.append(f"moved {sheet} ({label}) from place {old['position']} to {new['position']} in the floor order")
    if old["north"] != new["north"]:
        said.append(f"cleared the north of {sheet} ({label})" if new["north"] is None
                    else f"set the north of {sheet} ({label}) to {value_words(new['north'])}°")  # fmt: skip
    return "; ".join(said) or f"{sheet} ({label}) saved unchanged"


def generic_change(event: AuditEvent, noun: str, verb: str, detail: dict[str, Any]) -> Change:
    fields: list[FieldChange] = list(field_changes(noun, mapping(detail.get("changes"))))
    fields += field_changes(noun, mapping(detail.get("values")), one_value=True)
    fields += [FieldChange(humanise(k), None, value_words(v)) for k, v in detail.items()
               if k not in ("changes", "values")]  # fmt: skip
    headline = f"{humanise(noun)}: {humanise(verb).lower()}" if verb else humanise(noun)
    key = f"{noun}-{event.target_id}" if noun in ("contact", "gathering") else noun or "other"
    record = {"building": "The building record", "plan": "Plan", "marker": "Markers"}.get(noun, humanise(noun))
    return change(event, key, record, headline, fields)


def age_words(since: dt.datetime, now: dt.datetime) -> str:
    """How long a change has waited: "40 minutes", "5 hours", "3 days", "6 weeks"."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    for size, unit in ((7 * 24 * 60, "week"), (24 * 60, "day"), (60, "hour")):
        if minutes >= 2 * size or (unit != "week" and minutes >= size):
            return plural(minutes // size, unit)
    return plural(minutes, "minute") if minutes else "less than a minute"
