"""Verifying the webhooks Herald sends (Standard Webhooks), for the receiving side::

    from herald_sdk.webhooks import Webhook, WebhookVerificationError

    webhook = Webhook("whsec_…")            # the endpoint's secret
    try:
        event = webhook.verify(raw_body, request.headers)
    except WebhookVerificationError:
        return 400

A request is authentic when one of the space-separated signatures of ``webhook-signature``
(or ``svix-signature``) signs ``"{webhook-id}.{webhook-timestamp}.{body}"``:

* ``v1,<base64 HMAC-SHA256>`` keyed by the decoded ``whsec_`` secret (prefix optional);
* ``v1a,<base64 ed25519 signature>`` for a ``whpk_`` public key (or its ``whsk_`` key),
  which needs ``cryptography``: ``pip install 'herald-sdk[ed25519]'``.

It is fresh when its timestamp is within ``tolerance_s`` (5 minutes) of now, either way,
so a captured request cannot be replayed later. Deduplicate on ``webhook-id``: it is the
same on every attempt of a message.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from herald_sdk.errors import WebhookVerificationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = ["DEFAULT_TOLERANCE_S", "Webhook", "WebhookVerificationError"]

DEFAULT_TOLERANCE_S = 5 * 60
_HEADER_PREFIXES = ("webhook-", "svix-")


class Webhook:
    """The verifier (and, for tests, signer) for one endpoint's key.

    ``secret`` is ``whsec_<base64>`` or the bare base64 (HMAC), raw key bytes (HMAC),
    ``whpk_<base64>`` (ed25519, verify only) or ``whsk_<base64>`` (ed25519). Raises
    ``ValueError`` for a malformed secret and ``ImportError`` for an ed25519 key without
    ``cryptography`` installed.
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        tolerance_s: int = DEFAULT_TOLERANCE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = _parse_key(secret)
        self._tolerance_s = tolerance_s
        self._clock = clock

    def verify(self, body: bytes | str, headers: Mapping[str, str]) -> Any:
        """The parsed JSON body of an authentic, fresh webhook.

        ``body`` must be the raw request body, before any JSON parsing. Raises
        ``WebhookVerificationError`` saying what is wrong otherwise.
        """
        msg_id, timestamp, signatures = _read_headers(headers)
        self._check_fresh(timestamp)
        payload = body.encode() if isinstance(body, str) else body
        if not self._key.verifies(_signed_content(msg_id, timestamp, payload), signatures):
            raise WebhookVerificationError("no signature matches the endpoint's key")
        try:
            return json.loads(payload)
        except ValueError as exc:
            raise WebhookVerificationError("the body is not JSON") from exc

    def sign(self, msg_id: str, timestamp: int | datetime, body: bytes | str) -> str:
        """The ``webhook-signature`` value Herald would send (``v1,…`` or ``v1a,…``).

        Raises ``ValueError`` for a ``whpk_`` key, which can only verify.
        """
        seconds = int(timestamp.timestamp()) if isinstance(timestamp, datetime) else timestamp
        payload = body.encode() if isinstance(body, str) else body
        return self._key.sign(_signed_content(msg_id, seconds, payload))

    def _check_fresh(self, timestamp: int) -> None:
        now = self._clock()
        if timestamp < now - self._tolerance_s:
            raise WebhookVerificationError("the message timestamp is too old")
        if timestamp > now + self._tolerance_s:
            raise WebhookVerificationError("the message timestamp is too far in the future")


@dataclass(frozen=True)
class _HmacKey:
    raw: bytes

    def sign(self, content: bytes) -> str:
        digest = hmac.new(self.raw, content, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    def verifies(self, content: bytes, signatures: list[tuple[str, str]]) -> bool:
        expected = self.sign(content).removeprefix("v1,").encode()
        # Every candidate is compared (no early exit), each in constant time.
        matches = [
            hmac.compare_digest(expected, signature.encode())
            for version, signature in signatures
            if version == "v1"
        ]
        return any(matches)


@dataclass(frozen=True)
class _Ed25519Key:
    public: "Ed25519PublicKey"
    private: "Ed25519PrivateKey | None" = None

    def sign(self, content: bytes) -> str:
        if self.private is None:
            raise ValueError("a whpk_ public key can verify signatures, not make them")
        return "v1a," + base64.b64encode(self.private.sign(content)).decode()

    def verifies(self, content: bytes, signatures: list[tuple[str, str]]) -> bool:
        from cryptography.exceptions import InvalidSignature

        for version, signature in signatures:
            if version != "v1a":
                continue
            try:
                self.public.verify(base64.b64decode(signature, validate=True), content)
            except (InvalidSignature, binascii.Error, ValueError):
                continue
            return True
        return False


def _parse_key(secret: str | bytes) -> _HmacKey | _Ed25519Key:
    if isinstance(secret, bytes):
        return _HmacKey(secret)
    if secret.startswith("whpk_"):
        with _needs_cryptography():
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        return _Ed25519Key(Ed25519PublicKey.from_public_bytes(_b64_32(secret[5:])))
    if secret.startswith("whsk_"):
        with _needs_cryptography():
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        private = Ed25519PrivateKey.from_private_bytes(_b64_32(secret[5:]))
        return _Ed25519Key(private.public_key(), private)
    raw = _b64(secret.removeprefix("whsec_"))
    if not raw:
        raise ValueError("the webhook secret is empty")
    return _HmacKey(raw)


@contextmanager
def _needs_cryptography() -> Iterator[None]:
    """Turn a missing ``cryptography`` into an ``ImportError`` that says what to install."""
    try:
        yield
    except ImportError as exc:
        raise ImportError(
            "ed25519 (whpk_/whsk_) keys need the 'cryptography' package: "
            "pip install 'herald-sdk[ed25519]'"
        ) from exc


def _b64(text: str) -> bytes:
    text = text.strip()
    try:
        # Padding is optional, as in the reference library.
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not valid base64") from None


def _b64_32(text: str) -> bytes:
    raw = _b64(text)
    if len(raw) != 32:
        raise ValueError("an ed25519 key must decode to 32 bytes")
    return raw


def _read_headers(headers: Mapping[str, str]) -> tuple[str, int, list[tuple[str, str]]]:
    """``(id, timestamp, [(version, signature), …])`` from ``webhook-*`` or ``svix-*``."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for prefix in _HEADER_PREFIXES:
        msg_id = lowered.get(prefix + "id")
        timestamp = lowered.get(prefix + "timestamp")
        signature = lowered.get(prefix + "signature")
        if msg_id and timestamp and signature:
            break
    else:
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    timestamp = timestamp.strip()
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise WebhookVerificationError("the webhook-timestamp header is not a unix time")
    signatures: list[tuple[str, str]] = []
    for part in signature.split():
        version, comma, value = part.partition(",")
        if comma:
            signatures.append((version, value))
    return msg_id, int(timestamp), signatures


def _signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body
