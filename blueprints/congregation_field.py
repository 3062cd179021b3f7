"""The congregation field of an administrator's form (an account, an invitation, a new
building), HTTP side: what the field shows (templates/macros/congregation_choice.html draws
it; the forms import it "with context", for asset_url) and which congregation a post chose.
The rules are ``services.congregation_choice``'s; this gives them the request's values.
Must not import storage, converters, boto3, pymupdf or PIL.
"""
from __future__ import annotations

from flask import request

from floorplans.models import Organisation
from floorplans.services import congregation_choice

#: The form's values: the chosen congregation's id (the <select>'s, or the typed field's
#: hidden companion) and, when the form offers a typed field instead of a list, its text.
ID_FIELD = "organisation_id"
NAME_FIELD = "organisation_name"


def shown(current_id: int | None = None) -> congregation_choice.Choice:
    """The field: after a refused post what the administrator sent (a typed name as typed),
    otherwise ``current_id``'s congregation (None: none yet)."""
    if request.method == "POST":
        return congregation_choice.choice(request.form.get(ID_FIELD, type=int), request.form.get(NAME_FIELD))
    return congregation_choice.choice(current_id)


def chosen(*, field: str) -> Organisation | None:
    """The congregation the post chose; a typed name that is no congregation's, or several's,
    is an InvalidInput on ``field`` (so call it inside ``blueprints.forms.attempt``)."""
    return congregation_choice.chosen(request.form.get(ID_FIELD, type=int), request.form.get(NAME_FIELD), field=field)
