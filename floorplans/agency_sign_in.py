"""Agency sign-in (OpenID Connect), the protocol: Authlib's Flask client talks to the
provider (discovery, the authorisation code flow with PKCE S256, state and nonce kept in the
signed session, the code traded for tokens, the ID token's signature through the provider's
JWKS) and this module pins what Authlib leaves to the application: the issuer and the
audience from the settings, and a message a person can act on for every refusal.  It reads
the request and the session, so it lives here beside floorplans.auth, not in the services;
``services.identity`` turns the checked claims into an account.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, request, session
from flask.typing import ResponseReturnValue
from joserfc import errors as jose

from floorplans.config import get_settings
from floorplans.services.identity import Agency, Refused, agency, agency_from, required_agency

_CLIENT = "agency"  # the name of the Authlib client
_OAUTH = "authlib.integrations.flask_client"  # where Authlib keeps its registry in app.extensions


def init_app(app: Flask) -> None:
    """Check the settings (a wrong one stops the app at start) and register the provider
    with Authlib; nothing is fetched until the first sign-in."""
    agency = agency_from(get_settings(app))
    if agency is None:
        return
    oauth = OAuth(app)
    oauth.register(
        _CLIENT,
        client_id=agency.client_id,
        client_secret=agency.client_secret,
        server_metadata_url=agency.discovery_url,
        client_kwargs={
            "scope": " ".join(agency.scopes),
            "code_challenge_method": "S256",
            "default_timeout": agency.timeout,
        },
    )


def _client() -> Any:
    return current_app.extensions[_OAUTH].create_client(_CLIENT)


def _unavailable(settings: Agency, error: Exception) -> Refused:
    return Refused(
        f"The {settings.name} sign-in service did not answer, so you are not signed in. Try again in a minute; "
        "if it keeps failing, call your service desk.",
        f"provider unreachable: {type(error).__name__}: {error}"[:300], status=503,
    )


def _metadata(settings: Agency) -> Mapping[str, Any]:
    """The provider's discovery document (fetched once per process by Authlib), whose issuer
    must be the configured one (OpenID Connect Discovery 1.0, section 4.3)."""
    try:
        metadata: Mapping[str, Any] = _client().load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        raise _unavailable(settings, error) from error
    if metadata.get("issuer") != settings.issuer:
        raise Refused(
            f"The {settings.name} sign-in is not set up right, so nobody can sign in with it now. Tell your "
            "service desk: the provider's issuer is not FLOORPLANS_OIDC_ISSUER.",
            f"discovery names issuer {metadata.get('issuer')!r}, not {settings.issuer!r}", status=503,
        )
    return metadata


def start(redirect_uri: str) -> ResponseReturnValue:
    """The redirect to the provider's authorisation endpoint; Authlib keeps the state, the
    nonce and the PKCE verifier in the (signed) session until the callback."""
    settings = required_agency()
    _metadata(settings)
    # Authlib keeps each sign-in started in the session cookie for an hour: someone pressing
    # the button again and again would grow the cookie past a browser's 4 KB, and lose it.
    # The newest earlier one stays (a second tab); older ones are forgotten.
    started = sorted((key for key in session if key.startswith(f"_state_{_CLIENT}_")),
                     key=lambda key: session[key].get("exp", 0))
    for key in started[:-1]:
        session.pop(key)
    extra = {"acr_values": " ".join(settings.required_acr)} if settings.required_acr else {}
    try:
        response: ResponseReturnValue = _client().authorize_redirect(redirect_uri, **extra)
    except (requests.RequestException, AuthlibBaseError) as error:
        raise _unavailable(settings, error) from error
    return response


def _claims_options(settings: Agency) -> dict[str, Any]:
    """Authlib checks only what it is asked to: the issuer and our client id as the audience,
    pinned to the settings rather than to the discovery document."""
    return {
        "iss": {"essential": True, "value": settings.issuer},
        "aud": {"essential": True, "value": settings.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }


_UNTRUSTED = ("The answer from the {name} sign-in could not be trusted ({why}), so you are not signed in. "
              "Try again from this service's sign-in page; if it happens again, tell your service desk.")


def _why(error: jose.JoseError) -> str:
    claim = str(getattr(error, "claim", "") or "")
    if isinstance(error, jose.ExpiredTokenError):
        return "it had expired; check this server's clock"
    if isinstance(error, jose.BadSignatureError):
        return "its signature does not match the provider's published keys"
    if claim in {"aud", "azp"}:
        return "it was issued for another application"
    if claim == "nonce":
        return "it does not belong to this sign-in"
    if claim == "iss":
        return "it names another issuer"
    if isinstance(error, jose.ClaimError):
        return f"its {claim or 'claims'} could not be checked"
    return "it could not be read"


def finish() -> dict[str, Any]:
    """The callback: the state checked (once: it leaves the session), the code traded for
    tokens with the PKCE verifier, the ID token's signature, issuer, audience, expiry and
    nonce checked.  Returns the ID token's claims."""
    settings = required_agency()
    error = request.args.get("error")
    if error:
        described = request.args.get("error_description") or error
        raise Refused(f"The {settings.name} sign-in did not sign you in: {described[:200]}.",
                      f"provider answered {error}: {described}"[:300])
    _metadata(settings)
    try:
        token = _client().authorize_access_token(claims_options=_claims_options(settings),
                                                 leeway=settings.clock_skew)
    except MismatchingStateError as refused:
        raise Refused(
            "This sign-in answer was used already, has expired or was started in another browser, so you are "
            "not signed in. Start again from this service's sign-in page.",
            "state missing, expired or used before",
        ) from refused
    except jose.JoseError as refused:
        if isinstance(refused, jose.BadSignatureError):
            # Keys rotated under the same kid, or a wrong set served: fetch them again next time.
            _client().server_metadata.pop("jwks", None)
        why = _why(refused)
        raise Refused(_UNTRUSTED.format(name=settings.name, why=why),
                      f"ID token refused: {why} ({type(refused).__name__}: {refused})"[:300]) from refused
    except requests.RequestException as refused:
        raise _unavailable(settings, refused) from refused
    except AuthlibBaseError as refused:  # the token endpoint said no (a code used twice, a wrong secret)
        raise Refused(
            f"The {settings.name} sign-in refused to finish this sign-in. Start again from this service's "
            "sign-in page; if it happens again, tell your service desk.",
            f"token endpoint: {refused}"[:300],
        ) from refused
    claims = token.get("userinfo")
    if not claims:
        raise Refused(_UNTRUSTED.format(name=settings.name, why="it had no ID token"), "no ID token")
    return dict(claims)


def end_session_url(post_logout_redirect_uri: str) -> str | None:
    """The provider's end-session URL (RP-Initiated Logout) for the sign-out page, or None
    when the provider has none or does not answer."""
    settings = agency()
    if settings is None:
        return None
    try:
        metadata = _metadata(settings)
    except Refused:
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    url: str = _client().create_logout_url(post_logout_redirect_uri=post_logout_redirect_uri,
                                           client_id=settings.client_id)["url"]
    return url
