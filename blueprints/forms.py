"""A form post's change, tried in a savepoint: what every view that shows a form's field
messages does with a refusal.  HTTP-side only, like every blueprint: it calls no service
itself and must not import storage, converters, boto3, pymupdf or PIL."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from floorplans.db import db
from floorplans.errors import InvalidInput

T = TypeVar("T")


def attempt(change: Callable[[], T]) -> tuple[T | None, dict[str, str]]:
    """The change's result and no messages; or None and the fields' messages.

    The savepoint is why a refusal keeps nothing of the change while the request still
    commits the rest (an audit of the attempt, a read logged before it): the view shows
    the form again, with what was typed and the messages, as a 422."""
    try:
        with db.session.begin_nested():
            return change(), {}
    except InvalidInput as exc:
        return None, exc.fields
