"""What the administration pages read: the start page's counts, the congregations and the
accounts listed, and one of them by its id (a form's choice of congregation is
``services.congregation_choice``'s).  Reads only: the changes are ``services.accounts``'s,
and the blueprint runs no query of its own.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from floorplans.db import db
from floorplans.errors import NotFound
from floorplans.models import Building, Organisation, User
from floorplans.paging import Page, by_offset


def counts() -> dict[str, int]:
    """How many congregations, buildings and accounts the service holds."""
    return {
        "organisations": db.session.scalar(select(func.count(Organisation.id))) or 0,
        "buildings": db.session.scalar(select(func.count(Building.id))) or 0,
        "users": db.session.scalar(select(func.count(User.id))) or 0,
    }


def organisation(organisation_id: int) -> Organisation:
    found = db.session.get(Organisation, organisation_id)
    if found is None:
        raise NotFound("There is no such congregation. Go back to the list of congregations.")
    return found


def accounts(page: int = 1) -> Page[User]:
    """A page of the accounts, by role and then e-mail (``paging.by_offset``)."""
    return by_offset(select(User).options(selectinload(User.organisation)).order_by(User.role, User.email, User.id),
                     page)


def organisations_page(page: int = 1) -> Page[Organisation]:
    """A page of the congregations, by name (``paging.by_offset``); ``sizes`` counts them."""
    return by_offset(select(Organisation).order_by(Organisation.name, Organisation.id), page)


def sizes(organisations: Iterable[Organisation]) -> dict[int, tuple[int, int]]:
    """Each congregation's number of buildings and of partner accounts, in two statements
    (loading every building and account of a page's hundred congregations to count them
    was most of the list's time at a province's size)."""
    ids = [organisation.id for organisation in organisations]
    counted: dict[int, list[int]] = {i: [0, 0] for i in ids}
    for column, slot in ((Building.organisation_id, 0), (User.organisation_id, 1)):
        rows = db.session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
        for organisation_id, count in rows:
            if organisation_id is not None:  # never: the statement asks for these ids
                counted[organisation_id][slot] = count
    return {i: (buildings, partners) for i, (buildings, partners) in counted.items()}


def account(user_id: int) -> User:
    found = db.session.get(User, user_id)
    if found is None:
        raise NotFound("There is no such account. Go back to the list of accounts.")
    return found
