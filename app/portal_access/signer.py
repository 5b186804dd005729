"""Signed, expiring values (magic-link tokens, session cookies): HMAC-SHA256, no new deps.

Format: ``base64url(json claims) + "." + base64url(hmac)``. Each ``Signer`` has a
*purpose*; its key is HKDF(HERALD_SECRET_KEY, info=purpose), so a value signed for one
purpose (a portal session cookie) is never accepted for another (a magic-link token or a
console session), and none of them shares a key with the endpoint-secret box.
"""

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import Settings
from app.errors import DependencyUnavailable

Claims = Mapping[str, Any]


class BadSignature(ValueError):
    """The value was not signed by us for this purpose, or is malformed."""


class Expired(BadSignature):
    """The value was signed by us but its ``exp`` claim is in the past."""


class Signer:
    """Signs claims (a JSON object with an ``exp`` unix time) and checks them back."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"herald-signer", info=purpose.encode()
        ).derive(secret_key.encode())

    def sign(self, claims: Claims, expires_at: datetime) -> str:
        body = dict(claims) | {"exp": int(expires_at.timestamp())}
        encoded = _b64encode(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{encoded}.{_b64encode(self._mac(encoded))}"

    def unsign(self, value: str, now: datetime) -> dict[str, Any]:
        """The claims of ``value``; ``Expired`` past its ``exp``, ``BadSignature`` otherwise."""
        encoded, dot, mac = value.partition(".")
        if not dot:
            raise BadSignature("not a signed value")
        try:
            given = _b64decode(mac)
        except (binascii.Error, ValueError):
            raise BadSignature("malformed signature") from None
        if not hmac.compare_digest(given, self._mac(encoded)):
            raise BadSignature("bad signature")
        try:
            claims = json.loads(_b64decode(encoded))
        except (binascii.Error, ValueError):
            raise BadSignature("malformed claims") from None
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
            raise BadSignature("malformed claims")
        if claims["exp"] <= now.timestamp():
            raise Expired("expired")
        return claims

    def _mac(self, encoded: str) -> bytes:
        return hmac.new(self._key, encoded.encode(), sha256).digest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=16)
def signer_for(secret_key: str, purpose: str) -> Signer:
    """The (cached) signer of ``purpose``: HKDF runs once per key and purpose."""
    return Signer(secret_key, purpose)


def require_secret_key(settings: Settings) -> str:
    """``settings.secret_key``; 503 when unset (nothing can be signed without it)."""
    if not settings.secret_key:
        raise DependencyUnavailable("HERALD_SECRET_KEY is not set, so sessions cannot be signed")
    return settings.secret_key
