"""blueprints.forms.attempt: a form's change in a savepoint.  A refusal gives the fields'
messages and keeps nothing of the change, while what the request did before it stays for
the request's commit; a change that goes through gives its result."""
from __future__ import annotations

import uuid

from flask import Flask
from sqlalchemy import select

from blueprints.forms import attempt
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.models import Organisation


def _congregation(name: str) -> Organisation:
    organisation = Organisation(name=name, faith_tradition="Muslim")
    db.session.add(organisation)
    db.session.flush()
    return organisation


def _names() -> set[str]:
    return set(db.session.scalars(select(Organisation.name)))


def test_a_refused_change_keeps_nothing_of_it_and_the_rest_stays(app: Flask) -> None:
    kept, refused = f"Kept {uuid.uuid4().hex[:6]}", f"Refused {uuid.uuid4().hex[:6]}"
    _congregation(kept)

    def refuse() -> Organisation:
        _congregation(refused)
        raise InvalidInput({"name": "is refused."})

    assert attempt(refuse) == (None, {"name": "is refused."})
    db.session.commit()
    assert kept in _names() and refused not in _names()


def test_a_change_that_goes_through_gives_its_result(app: Flask) -> None:
    name = f"Made {uuid.uuid4().hex[:6]}"
    made, errors = attempt(lambda: _congregation(name))
    assert errors == {}
    assert made is not None and made.name == name
    db.session.commit()
    assert name in _names()
