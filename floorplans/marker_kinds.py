"""The kinds of marker a partner places on a plan, and their icons.

One catalogue serves every place a marker is drawn: the in-car viewer and the partner's
editor (an SVG sprite of ``<symbol>``s), the legend, and the printed packet (each icon as a
stand-alone SVG that PyMuPDF draws).  The icons are our own: a shape and colour per family
(blue squares for access, red squares for fire, green circles for medical, amber diamonds
for shut-offs, purple circles for people, a yellow triangle for hazards) with a white
glyph, drawn on a 24 x 24 grid so they stay legible at 20 px on a car's screen and in
black-and-white print (the shape still tells the family).

Pure data and functions; must not import blueprints, storage or converters.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from xml.sax.saxutils import escape


class Family(enum.StrEnum):
    ACCESS = "access"
    FIRE = "fire"
    MEDICAL = "medical"
    SHUTOFF = "shutoff"
    PEOPLE = "people"
    HAZARD = "hazard"
    NOTE = "note"


# Background shape and colour of each family: shape first, so print in grey still differs.
_BACKGROUND: dict[Family, tuple[str, str]] = {
    Family.ACCESS: ('<rect x="1" y="1" width="22" height="22" rx="3" fill="{c}"/>', "#1d4ed8"),
    Family.FIRE: ('<rect x="1" y="1" width="22" height="22" rx="3" fill="{c}"/>', "#b91c1c"),
    Family.MEDICAL: ('<circle cx="12" cy="12" r="11" fill="{c}"/>', "#15803d"),
    Family.SHUTOFF: ('<path d="M12 0.5 23.5 12 12 23.5 0.5 12Z" fill="{c}"/>', "#b45309"),
    Family.PEOPLE: ('<circle cx="12" cy="12" r="11" fill="{c}"/>', "#7e22ce"),
    Family.HAZARD: ('<path d="M12 1 23.5 22.5H0.5Z" fill="{c}" stroke="#111827" stroke-width="1"/>', "#facc15"),
    Family.NOTE: ('<rect x="1" y="1" width="22" height="22" rx="11" fill="{c}"/>', "#374151"),
}

_W = 'fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"'
_F = 'fill="#fff"'


@dataclass(frozen=True)
class MarkerKind:
    key: str  # stored in the database and used in URLs and the API: never renamed
    label: str  # what the legend and the editor say
    family: Family
    glyph: str  # SVG elements drawn in white over the family's background, 24 x 24
    numbered: bool = False  # exterior doors: 1 is the main entrance, then clockwise

    @property
    def colour(self) -> str:
        return _BACKGROUND[self.family][1]

    def svg_body(self) -> str:
        shape, colour = _BACKGROUND[self.family]
        return shape.format(c=colour) + self.glyph

    def as_json(self) -> dict[str, object]:
        return {"key": self.key, "label": self.label, "family": self.family.value,
                "colour": self.colour, "numbered": self.numbered}  # fmt: skip


KINDS: tuple[MarkerKind, ...] = (
    MarkerKind("door", "Exterior door", Family.ACCESS,
               f'<path d="M7 20V4h10v16M4.5 20h15" {_W}/><circle cx="14.3" cy="12.5" r="1.3" {_F}/>',
               numbered=True),
    MarkerKind("stairs", "Stairs", Family.ACCESS, f'<path d="M4 19h4.5v-4.5H13V10h4.5V5.5H20" {_W}/>'),
    MarkerKind("elevator", "Elevator", Family.ACCESS,
               f'<rect x="5" y="3.5" width="14" height="17" rx="1" {_W}/>'
               f'<path d="M12 6.5 9 10.5h6Z M12 17.5 9 13.5h6Z" {_F}/>'),
    MarkerKind("key_box", "Key box", Family.ACCESS,
               f'<circle cx="8" cy="12" r="3.5" {_W}/><path d="M11.5 12H20v3M17 12v2.5" {_W}/>'),
    MarkerKind("roof_access", "Roof access", Family.ACCESS,
               f'<path d="M3.5 12 12 4.5l8.5 7.5M12 20V9M8.5 12.5 12 9l3.5 3.5" {_W}/>'),
    MarkerKind("extinguisher", "Fire extinguisher", Family.FIRE,
               f'<rect x="8.5" y="8" width="7" height="12.5" rx="2.5" {_F}/>'
               f'<path d="M12 8V4.5h3.5M12 5.5 7 7.5" {_W}/>'),
    MarkerKind("fire_alarm_panel", "Fire alarm panel", Family.FIRE,
               f'<path d="M6.5 16.5c1-1 1.5-2.5 1.5-5a4 4 0 0 1 8 0c0 2.5.5 4 1.5 5Z" {_F}/>'
               f'<path d="M10.5 19h3" {_W}/>'),
    MarkerKind("sprinkler_control", "Sprinkler control", Family.FIRE,
               f'<circle cx="12" cy="9" r="4.5" {_W}/><path d="M12 4.5v9M7.5 9h9M12 13.5V20M8.5 20h7" {_W}/>'),
    MarkerKind("fire_department_connection", "Fire department connection", Family.FIRE,
               f'<circle cx="8" cy="12" r="3.2" {_W}/><circle cx="16" cy="12" r="3.2" {_W}/>'
               f'<path d="M8 8.8V5h8v3.8" {_W}/>'),
    MarkerKind("aed", "AED (defibrillator)", Family.MEDICAL,
               f'<path d="M12 19.5 5.2 12.6a3.9 3.9 0 0 1 6.8-4.4 3.9 3.9 0 0 1 6.8 4.4Z" {_F}/>'
               '<path d="M12.8 8.5 10.3 12.6h3.2l-2.2 4" fill="none" stroke="#15803d" stroke-width="1.6" '
               'stroke-linejoin="round"/>'),
    MarkerKind("first_aid", "First-aid / bleeding-control kit", Family.MEDICAL,
               f'<path d="M9.5 5h5v4.5H19v5h-4.5V19h-5v-4.5H5v-5h4.5Z" {_F}/>'),
    MarkerKind("gas_shutoff", "Gas shut-off", Family.SHUTOFF,
               f'<path d="M12 5.5c2.8 2.6 4 4.6 4 7.2a4 4 0 0 1-8 0c0-1.6.8-2.7 1.8-3.7.2 1.4.8 2.2 1.7 2.6'
               f'-.4-2.1-.2-4 .5-6.1Z" {_F}/>'),
    MarkerKind("electric_shutoff", "Electric shut-off", Family.SHUTOFF,
               f'<path d="M13.2 4.5 7.8 13h3.6l-1 6.5 5.8-8.8h-3.7Z" {_F}/>'),
    MarkerKind("water_shutoff", "Water shut-off", Family.SHUTOFF,
               f'<path d="M12 5c2.7 3.6 4.2 6 4.2 8.3a4.2 4.2 0 0 1-8.4 0C7.8 11 9.3 8.6 12 5Z" {_F}/>'),
    MarkerKind("security_office", "Camera / security office", Family.PEOPLE,
               f'<rect x="4.5" y="8.5" width="10.5" height="7.5" rx="1.2" {_F}/>'
               f'<path d="M15 11 19.5 8.5v7L15 13Z" {_F}/>'),
    MarkerKind("safe_room", "Safe room", Family.PEOPLE,
               f'<path d="M12 4 18.5 6.5V11c0 4-2.7 7-6.5 8.5C8.2 18 5.5 15 5.5 11V6.5Z" {_F}/>'),
    MarkerKind("childrens_area", "Children's area", Family.PEOPLE,
               f'<circle cx="12" cy="7" r="2.3" {_F}/>'
               f'<path d="M12 10.5v5M8 12.5l4-1.5 4 1.5M9.5 19.5l2.5-4 2.5 4" {_W}/>'),
    MarkerKind("rally_point", "Rally point", Family.PEOPLE,
               f'<circle cx="12" cy="12" r="2.2" {_F}/>'
               f'<path d="M12 3.5v4M10 5.5l2 2 2-2M12 20.5v-4M10 18.5l2-2 2 2M3.5 12h4M5.5 10l2 2-2 2'
               f'M20.5 12h-4M18.5 10l-2 2 2 2" {_W}/>'),
    MarkerKind("staging_area", "Staging area", Family.PEOPLE,
               f'<path d="M7 20.5V4" {_W}/><path d="M8 4.5h10l-2.5 3.5L18 11.5H8Z" {_F}/>'),
    MarkerKind("hazard", "Hazard", Family.HAZARD,
               '<path d="M12 8.5v6.5" fill="none" stroke="#111827" stroke-width="2.4" stroke-linecap="round"/>'
               '<circle cx="12" cy="18.6" r="1.4" fill="#111827"/>'),
    MarkerKind("note", "Note", Family.NOTE,
               f'<path d="M7 8h10M7 12h10M7 16h6" {_W}/>'),
)

BY_KEY: dict[str, MarkerKind] = {kind.key: kind for kind in KINDS}
DOOR_SIDES = ("A", "B", "C", "D")  # the fire service's sides: A is the address side, then clockwise


def kind_of(key: str) -> MarkerKind:
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValueError(f"{key!r} is not a kind of marker") from None


def icon_svg(key: str, size: int = 24) -> str:
    """One icon as a stand-alone SVG document (the printed packet draws these)."""
    kind = kind_of(key)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 24 24">'
            f'{kind.svg_body()}</svg>')


def sprite_svg() -> str:
    """Every icon as a ``<symbol id="marker-KEY">``, for ``<use href="...#marker-KEY">``."""
    symbols = "".join(
        f'<symbol id="marker-{kind.key}" viewBox="0 0 24 24"><title>{escape(kind.label)}</title>'
        f"{kind.svg_body()}</symbol>"
        for kind in KINDS
    )
    return f'<svg xmlns="http://www.w3.org/2000/svg">{symbols}</svg>'


def door_label(number: int | None, side: str | None) -> str:
    """"Door 2 (side B)", or "Door 2" without a side.  Never "B2": on a plan gridded A1..J7
    that is a grid cell, and on the radio "B2" would mean two places (docs/in-car.md)."""
    if number is None:
        return ""
    return f"Door {number}" + (f" (side {side})" if side else "")
