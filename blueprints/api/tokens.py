"""The caller's own API tokens: list them (never the secret) and revoke one.  An administrator
may revoke anyone's token by its id; anyone else's is "not found".  Tokens are made by an
operator (``flask tokens create``), never through the API."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.api import bp
from floorplans.auth import permission
from floorplans.models import ApiToken
from floorplans.permissions import Permission
from floorplans.representations import utc_time
from floorplans.services import tokens


def token_json(api_token: ApiToken) -> dict[str, Any]:
    return {
        "id": api_token.id,
        "prefix": api_token.prefix,
        "label": api_token.label,
        "scope": api_token.scope,
        "status": tokens.status(api_token).value,
        "created_at": utc_time(api_token.created_at),
        "last_used_at": utc_time(api_token.last_used_at),
        "expires_at": utc_time(api_token.expires_at),
        "revoked_at": utc_time(api_token.revoked_at),
        "revoked_reason": api_token.revoked_reason or None,
        "current": api_token.id == g.get("api_token_id"),
    }


@bp.get("/tokens")
@permission(Permission.SIGNED_IN)
def list_tokens() -> ResponseReturnValue:
    return jsonify(tokens=[token_json(t) for t in tokens.tokens_of(current_user)])


@bp.delete("/tokens/<int:token_id>")
@permission(Permission.SIGNED_IN)
def revoke_token(token_id: int) -> ResponseReturnValue:
    api_token = tokens.get_revocable(current_user, token_id)
    tokens.revoke_token(api_token, reason=tokens.BY_OWNER if api_token.user_id == current_user.id else tokens.BY_ADMIN)
    return "", 204


TOKEN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An API token as its owner sees it: never the token itself (shown once, when made).",
    "properties": {
        "id": {"type": "integer"},
        "prefix": {"type": "string", "description": "Its first 10 characters, to tell tokens apart."},
        "label": {"type": "string"},
        "scope": {"type": "string", "enum": ["read-only", "read-write"],
                  "description": "read-only: GET only; any other method answers 403."},
        "status": {"type": "string", "enum": ["active", "revoked", "expired", "password changed", "account disabled"]},
        "created_at": {"type": "string", "format": "date-time"},
        "last_used_at": {"type": "string", "format": "date-time", "nullable": True,
                         "description": "Written at most once a minute."},
        "expires_at": {"type": "string", "format": "date-time", "nullable": True,
                       "description": "null: until revoked."},
        "revoked_at": {"type": "string", "format": "date-time", "nullable": True},
        "revoked_reason": {"type": "string", "nullable": True},
        "current": {"type": "boolean", "description": "The token this request was made with."},
    },
}
_ERRORS = {code: {"$ref": f"#/components/responses/{name}"}
           for code, name in (("401", "Unauthorized"), ("403", "Forbidden"), ("404", "NotFound"))}
TOKEN_PATHS: dict[str, Any] = {
    "/tokens": {
        "get": {
            "summary": "The caller's own API tokens, revoked and expired ones included (never the secret)",
            "responses": {
                "200": {"description": "Newest first.", "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"tokens": {"type": "array", "items": {"$ref": "#/components/schemas/ApiToken"}}},
                }}}},
                "401": _ERRORS["401"],
            },
        },
    },
    "/tokens/{token_id}": {
        "parameters": [{"name": "token_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "delete": {
            "summary": "Revoke a token: the caller's own, or anyone's for an administrator (it stops at once)",
            "description": "A read-only token cannot revoke (403). Another account's token is 404 "
                           "for anyone but an administrator.",
            "responses": {
                "204": {"description": "Revoked."},
                "409": {"description": "It was already revoked.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                **_ERRORS,
            },
        },
    },
}
