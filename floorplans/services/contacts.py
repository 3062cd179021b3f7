"""Emergency contacts of a building, in calling order.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.fields import Field, RecordFields
from floorplans.models import Building, Contact
from floorplans.services import audit, building_items

CONTACT_FIELDS = RecordFields((
    Field("name", "Name", required=True),
    Field("role", "Role", help="Caretaker, imam, rabbi, board chair, security lead..."),
    Field("phone", "Phone", "phone", required=True, max_length=40),
    Field("phone_alt", "Other phone", "phone", max_length=40),
    Field("email", "E-mail", "email", max_length=254),
    Field("key_holder", "Holds keys", "bool"),
    Field("available_24_7", "Can be called 24/7", "bool"),
    Field("available_days", "Days available", "weekdays", help="When not 24/7."),
    Field("available_from", "Available from", "time"),
    Field("available_until", "Available until", "time"),
    Field("languages", "Languages spoken", help="Comma-separated, e.g. English, Arabic, Urdu"),
))


def _check_hours(current: Callable[[str], Any]) -> None:
    start, end = current("available_from"), current("available_until")
    if (start is None) != (end is None):
        field = "available_until" if end is None else "available_from"
        raise InvalidInput({field: "give both the start and the end of the hours, or neither."})
    if start is not None and start == end:
        raise InvalidInput({"available_until": "must differ from the start time."})


RULES = building_items.ItemRules(Contact, "contact", CONTACT_FIELDS, _check_hours, "This building has no such contact.")


def add_contact(building: Building, raw: Mapping[str, Any]) -> Contact:
    position = max((c.position for c in building.contacts), default=0) + 1
    return building_items.add(RULES, building, raw, position=position)


def update_contact(contact: Contact, raw: Mapping[str, Any], *, partial: bool = False) -> Contact:
    return building_items.update(RULES, contact, raw, partial=partial, name=contact.name)


def delete_contact(contact: Contact) -> None:
    building = contact.building
    building_items.record_removal(RULES, contact)
    building.contacts.remove(contact)
    _renumber(building)
    db.session.flush()


def move_contact(contact: Contact, offset: int) -> None:
    """Move up (-1) or down (+1) in the calling order."""
    ordered = list(contact.building.contacts)
    index = ordered.index(contact)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    before = contact.position
    for position, item in enumerate(ordered, start=1):
        item.position = position
    db.session.flush()
    if contact.position != before:
        audit.record("contact.move", building=contact.building, target=contact,
                     detail={"name": contact.name, "changes": {"position": [before, contact.position]}})


def _renumber(building: Building) -> None:
    for position, item in enumerate(building.contacts, start=1):
        item.position = position


def contact_of(building: Building, contact_id: int) -> Contact:
    return building_items.item_of(RULES, building.contacts, contact_id)
