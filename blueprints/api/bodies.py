"""What an API request carries: a JSON object, or a multipart file (a plan, a photo)."""
from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.datastructures import FileStorage

from floorplans.errors import FloorplansError, InvalidInput


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(
            {"body": "must be a JSON object"},
            "Send a JSON object in the request body with 'Content-Type: application/json'.",
        )
    return body


def uploaded_file(missing: FloorplansError) -> FileStorage:
    """The multipart field ``file``; ``missing`` (the upload's own words, what to send) without it."""
    upload = request.files.get("file")
    if upload is None:
        raise missing
    return upload
