"""Standard Webhooks signatures.

``v1``: base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` keyed by the decoded
``whsec_`` secret. ``v1a``: base64 ed25519 signature of the same bytes by a ``whsk_`` key
(its public key, ``whpk_…``, is what receivers hold). Several signatures are joined by a
space while a rotated-out key is still in its overlap window.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

Algorithm = Literal["hmac-sha256", "ed25519"]
HMAC_PREFIX = "whsec_"
ED25519_PREFIX = "whsk_"
PUBLIC_PREFIX = "whpk_"


class InvalidKey(ValueError):
    """A signing key that is not ``whsec_<base64>`` (24–64 bytes) or ``whsk_<base64>`` (32)."""


@dataclass(frozen=True)
class SigningKey:
    algorithm: Algorithm
    raw: bytes

    def sign(self, content: bytes) -> str:
        if self.algorithm == "hmac-sha256":
            digest = hmac.new(self.raw, content, hashlib.sha256).digest()
            return "v1," + base64.b64encode(digest).decode()
        signature = Ed25519PrivateKey.from_private_bytes(self.raw).sign(content)
        return "v1a," + base64.b64encode(signature).decode()


def parse_key(text: str) -> SigningKey:
    """Parse a ``whsec_`` or ``whsk_`` key; raise ``InvalidKey`` with the reason."""
    if text.startswith(HMAC_PREFIX):
        raw = _b64(text[len(HMAC_PREFIX) :])
        if not 24 <= len(raw) <= 64:
            raise InvalidKey("a whsec_ secret must decode to 24–64 bytes")
        return SigningKey("hmac-sha256", raw)
    if text.startswith(ED25519_PREFIX):
        raw = _b64(text[len(ED25519_PREFIX) :])
        if len(raw) != 32:
            raise InvalidKey("a whsk_ key must decode to a 32-byte ed25519 seed")
        return SigningKey("ed25519", raw)
    raise InvalidKey("a key must start with whsec_ (HMAC) or whsk_ (ed25519)")


def new_key(algorithm: Algorithm = "hmac-sha256") -> str:
    prefix = HMAC_PREFIX if algorithm == "hmac-sha256" else ED25519_PREFIX
    return prefix + base64.b64encode(secrets.token_bytes(32)).decode()


def public_key(text: str) -> str | None:
    """The ``whpk_`` public key of a ``whsk_`` key; None for an HMAC secret."""
    key = parse_key(text)
    if key.algorithm != "ed25519":
        return None
    public = Ed25519PrivateKey.from_private_bytes(key.raw).public_key()
    return (
        PUBLIC_PREFIX
        + base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    )


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return b"%s.%d.%s" % (msg_id.encode(), timestamp, body)


def sign(msg_id: str, timestamp: int, body: bytes, keys: Sequence[SigningKey]) -> str:
    """The ``webhook-signature`` header value: one signature per key, newest first."""
    content = signed_content(msg_id, timestamp, body)
    return " ".join(key.sign(content) for key in keys)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKey("the key is not valid base64") from None
