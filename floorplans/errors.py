"""Domain errors.  Each carries a message a user can act on; one HTTP error handler
(blueprints/errors) renders them as HTML or JSON.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations


class FloorplansError(Exception):
    """Base of every error whose message may be shown to the user as it is."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(FloorplansError):
    """Submitted values failed validation; ``fields`` maps a field name to what is wrong."""

    status = 422

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__(message or _summary(fields))
        self.fields = fields


class NotFound(FloorplansError):
    status = 404


class Forbidden(FloorplansError):
    status = 403


class Conflict(FloorplansError):
    """Someone else changed the record first; reload and try again."""

    status = 409


def _summary(fields: dict[str, str]) -> str:
    if len(fields) == 1:
        ((name, problem),) = fields.items()
        return f"{name.replace('_', ' ').capitalize()}: {problem}"
    return f"Please correct the {len(fields)} highlighted fields."
