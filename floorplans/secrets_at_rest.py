"""Secrets the database keeps, sealed with a key it does not keep: the TOTP keys of
two-factor sign-in.

A TOTP key must be readable to check a code, so it cannot be hashed like a password; it is
encrypted instead (Fernet: AES-128-CBC with an HMAC-SHA256, from ``cryptography``), with a
key derived from the app's ``SECRET_KEY`` (HKDF-SHA256, its own label).  ``SECRET_KEY``
lives in the environment or in ``instance/secret_key`` (0600), never in the database, and
every web host and worker already shares it; so a copy of the database or of a backup gives
an attacker no code generator.  The keys of ``SECRET_KEY_FALLBACKS`` (Flask's own setting
for rotating ``SECRET_KEY``) still open what they sealed, and each successful code re-seals
with the current key.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from floorplans.config import Settings

#: Separates this use of SECRET_KEY from every other (sessions, CSRF, signed tile URLs).
_LABEL = b"floorplans: TOTP keys at rest"


class SealBroken(Exception):
    """A sealed secret that none of the configured keys opens (SECRET_KEY changed without
    keeping the old one in SECRET_KEY_FALLBACKS, or the value was altered)."""


def _fernet(secret_key: str | bytes) -> Fernet:
    material = secret_key.encode() if isinstance(secret_key, str) else secret_key
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(material)
    return Fernet(base64.urlsafe_b64encode(derived))


def sealer(config: Settings | Mapping[str, Any]) -> MultiFernet:
    """The current key first (it seals), then the fallbacks (they only open); from the
    settings, or from a config mapping (migration 0010 runs before settings are typed)."""
    if isinstance(config, Settings):
        keys = list(config.secret_keys)
    else:
        keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return MultiFernet([_fernet(key) for key in keys if key])


def seal(config: Settings | Mapping[str, Any], secret: str) -> str:
    return sealer(config).encrypt(secret.encode()).decode("ascii")


def unseal(config: Settings | Mapping[str, Any], sealed: str) -> str:
    try:
        return sealer(config).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise SealBroken("a sealed secret does not open with SECRET_KEY or SECRET_KEY_FALLBACKS") from error


def reseal(config: Settings | Mapping[str, Any], sealed: str) -> str:
    """The same secret sealed with the current key (after a SECRET_KEY rotation)."""
    try:
        return sealer(config).rotate(sealed.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as error:
        raise SealBroken("a sealed secret does not open with SECRET_KEY or SECRET_KEY_FALLBACKS") from error
