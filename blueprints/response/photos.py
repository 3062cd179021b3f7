"""Photos of buildings and markers for the in-car view and the portal, access-checked like
tiles (someone else's congregation, an officer who may not see the marker, an anonymous
visitor: not found or the sign-in page) and cached like them: a size's URL names the photo's
token, new for each replacement, so what a browser keeps never goes stale."""
from __future__ import annotations

from flask import Response, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.response import bp
from floorplans import tile_responses
from floorplans.auth import permission
from floorplans.models import Photo
from floorplans.permissions import Permission
from floorplans.services import photos


def photo_response(photo_id: int, token: str, size: int) -> Response:
    photo = photos.get_for_reading(current_user, photo_id, token)
    etag = photos.etag(photo, size)
    answer = tile_responses.image_answer(etag, request.headers.get("If-None-Match"), b"")
    if answer.status == 200:  # the bytes only when the browser does not have them
        answer = tile_responses.image_answer(etag, None, photos.read_size(photo, size))
    return Response(answer.body, answer.status, answer.headers)


@bp.route("/photos/<int:photo_id>/<photo_token>/<int:size>.webp")
@permission(Permission.READ_RECORDS)
def photo(photo_id: int, photo_token: str, size: int) -> ResponseReturnValue:
    return photo_response(photo_id, photo_token, size)


@bp.app_template_global("photo_url")
def photo_url(photo: Photo, size: int = photos.SMALL) -> str:
    """A photo's size, as pages link it (the API links its own route)."""
    return url_for("response.photo", photo_id=photo.id, photo_token=photo.token, size=size)
