"""What a building's emergency contacts and its gatherings have in common: small records of
one building, each checked as a whole before it is kept, and each addition, change and
removal in the audit log (``contact.create``, ``gathering.update``...) with the values the
partner entered.  services.contacts and services.gatherings say what differs.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from floorplans.db import db
from floorplans.errors import NotFound
from floorplans.fields import RecordFields
from floorplans.models import Building, Contact, Gathering
from floorplans.services import audit

Item = TypeVar("Item", Contact, Gathering)


@dataclass(frozen=True)
class ItemRules(Generic[Item]):
    """One kind of building item: ``event`` names its audit events (``<event>.create``...),
    ``check(current)`` refuses a combination of fields (``current(name)`` is the value after
    the change) with ``InvalidInput``, ``missing`` is said for an id the building lacks."""

    model: type[Item]
    event: str
    fields: RecordFields
    check: Callable[[Callable[[str], Any]], None]
    missing: str


def _checked(rules: ItemRules[Item], values: Mapping[str, Any], item: Item | None) -> None:
    def current(name: str) -> Any:
        return values[name] if name in values else getattr(item, name, None)

    rules.check(current)


def add(rules: ItemRules[Item], building: Building, raw: Mapping[str, Any], **placed: Any) -> Item:
    """A new item of ``building`` from the partner's ``raw`` values (``placed``: what the
    service decides, such as a contact's position)."""
    values = rules.fields.clean(raw)
    _checked(rules, values, None)
    item = rules.model(building=building, **placed, **values)
    db.session.add(item)
    db.session.flush()
    audit.record(f"{rules.event}.create", building=building, target=item,
                 detail={"values": audit.values(item, rules.fields)})
    return item


def update(rules: ItemRules[Item], item: Item, raw: Mapping[str, Any], *, partial: bool, **named: Any) -> Item:
    """Change ``item``; ``named`` says in the audit log which one it was (its name, its label)."""
    values = rules.fields.clean(raw, partial=partial)
    _checked(rules, values, item)
    with audit.recording_changes(item, values, f"{rules.event}.update", building=item.building, **named):
        for name, value in values.items():
            setattr(item, name, value)
        db.session.flush()
    return item


def record_removal(rules: ItemRules[Item], item: Item) -> None:
    """The audit event of ``item``'s removal, with what it held (the caller removes it)."""
    audit.record(f"{rules.event}.delete", building=item.building, target=item,
                 detail={"values": audit.values(item, rules.fields)})


def item_of(rules: ItemRules[Item], items: Iterable[Item], item_id: int) -> Item:
    for item in items:
        if item.id == item_id:
            return item
    raise NotFound(rules.missing)
