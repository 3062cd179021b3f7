"""What the administration pages read: the start page's counts, the congregations and the
accounts listed, and one of them by its id.  Reads only: the changes are
``services.accounts``'s, and the blueprint runs no query of its own.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from floorplans.db import db
from floorplans.errors import NotFound
from floorplans.models import Building, Organisation, User
from floorplans.paging import Page, by_offset
from floorplans.services.buildings import all_organisations


def counts() -> dict[str, int]:
    """How many congregations, buildings and accounts the service holds."""
    return {
        "organisations": db.session.scalar(select(func.count(Organisation.id))) or 0,
        "buildings": db.session.scalar(select(func.count(Building.id))) or 0,
        "users": db.session.scalar(select(func.count(User.id))) or 0,
    }


def organisations() -> Sequence[Organisation]:
    """Every congregation, by name."""
    return all_organisations()


def organisation(organisation_id: int) -> Organisation:
    found = db.session.get(Organisation, organisation_id)
    if found is None:
        raise NotFound("There is no such congregation. Go back to the list of congregations.")
    return found


def chosen_organisation(organisation_id: int | None) -> Organisation | None:
    """The congregation a form chose, or None (none chosen, or one that does not exist: the
    account's rules then say whether its role needs one)."""
    return db.session.get(Organisation, organisation_id) if organisation_id else None


def accounts(page: int = 1) -> Page[User]:
    """A page of the accounts, by role and then e-mail (``paging.by_offset``)."""
    return by_offset(select(User).options(selectinload(User.organisation)).order_by(User.role, User.email, User.id),
                     page)


def organisations_page(page: int = 1) -> Page[Organisation]:
    """A page of the congregations, by name (``paging.by_offset``)."""
    query = select(Organisation).options(selectinload(Organisation.buildings), selectinload(Organisation.members))
    return by_offset(query.order_by(Organisation.name, Organisation.id), page)


def account(user_id: int) -> User:
    found = db.session.get(User, user_id)
    if found is None:
        raise NotFound("There is no such account. Go back to the list of accounts.")
    return found
