"""A building as JSON: the summary that search returns and the whole record.

One shape serves the API and the in-car pages.  Must not import blueprints, storage or
converters.
"""
from __future__ import annotations

from typing import Any

from floorplans.models import Building, Contact, Gathering
from floorplans.services.buildings import BUILDING_FIELDS
from floorplans.services.contacts import CONTACT_FIELDS
from floorplans.services.gatherings import GATHERING_FIELDS


def _when(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def building_summary(building: Building) -> dict[str, Any]:
    return {
        "id": building.id,
        "name": building.name,
        "address": building.address,
        "organisation": {"id": building.organisation.id, "name": building.organisation.name},
        "faith_tradition": building.organisation.faith_tradition,
        "latitude": building.latitude,
        "longitude": building.longitude,
        "last_verified_at": _when(building.last_verified_at),
    }


def contact_json(contact: Contact) -> dict[str, Any]:
    return {"id": contact.id, "position": contact.position, **CONTACT_FIELDS.to_json(contact)}


def gathering_json(gathering: Gathering) -> dict[str, Any]:
    return {"id": gathering.id, **GATHERING_FIELDS.to_json(gathering)}


def building_record(building: Building) -> dict[str, Any]:
    return {
        **building_summary(building),
        **BUILDING_FIELDS.to_json(building),
        "row_version": building.row_version,
        "updated_at": _when(building.updated_at),
        "last_verified_by": building.last_verified_by.email if building.last_verified_by else None,
        "contacts": [contact_json(c) for c in building.contacts],
        "gatherings": [gathering_json(g) for g in building.gatherings],
    }
