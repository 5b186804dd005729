"""Secrets at rest: AES-256-GCM under a key derived from HERALD_SECRET_KEY.

Sealed format: ``magic (2 bytes) + key_id (4 bytes) + nonce (12 bytes) + ciphertext+tag``.
The key id lets ``herald rotate-master-key`` open values sealed under an older master key.

- ``H2`` (what ``seal`` writes): the associated data names the value's place (its column,
  its row's id and the row's owner), so a value copied to another row, column or owner
  fails authentication instead of opening there.
- ``H1`` (legacy, unbound): the associated data is ``b"H1"`` alone. Such values still
  open anywhere; ``herald rotate-master-key`` re-seals them as ``H2``.
"""

import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from app.config import Settings

_UNBOUND = b"H1"
_BOUND = b"H2"
_HEADER = 2 + 4 + 12


class SecretBoxError(Exception):
    """A sealed value could not be opened: wrong master key, corrupted data, or a value
    sealed for another place."""


@dataclass(frozen=True)
class SealedAt:
    """Where a sealed value lives; bound into its associated data."""

    column: str  # "table.column"
    row_id: str
    owner_id: str = ""  # the row the value's row belongs to, if any

    def associated_data(self) -> bytes:
        parts = (self.column, self.row_id, self.owner_id)
        # Length-prefixed, so no two places share an encoding.
        return _BOUND + b"".join(
            len(encoded).to_bytes(2, "big") + encoded for encoded in (p.encode() for p in parts)
        )


def derive_key(master_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"herald", info=b"endpoint-secrets/v1"
    ).derive(master_key.encode())


class SecretBox:
    """Seals with the first master key; opens with any of them."""

    def __init__(self, master_key: str, *older_master_keys: str) -> None:
        keys = [derive_key(key) for key in (master_key, *older_master_keys)]
        self._sealing = AESGCM(keys[0])
        self._sealing_id = _key_id(keys[0])
        self._opening = {_key_id(key): AESGCM(key) for key in keys}

    def seal(self, plaintext: str, place: SealedAt) -> bytes:
        """``plaintext`` sealed (``H2``) for ``place`` only."""
        nonce = os.urandom(12)
        sealed = self._sealing.encrypt(nonce, plaintext.encode(), place.associated_data())
        return _BOUND + self._sealing_id + nonce + sealed

    def open(self, sealed: bytes, place: SealedAt) -> str:
        """The plaintext of ``sealed``, read at ``place``. Raises ``SecretBoxError`` if it
        was sealed under an unknown master key, for another place, or was altered."""
        magic = sealed[:2]
        if len(sealed) < _HEADER or magic not in (_BOUND, _UNBOUND):
            raise SecretBoxError("not a sealed Herald secret")
        aead = self._opening.get(sealed[2:6])
        if aead is None:
            raise SecretBoxError("sealed under a master key this process does not have")
        associated = place.associated_data() if magic == _BOUND else _UNBOUND
        try:
            return aead.decrypt(sealed[6:18], sealed[18:], associated).decode()
        except Exception as exc:
            raise SecretBoxError("secret failed authentication for this place") from exc

    def is_current(self, sealed: bytes) -> bool:
        """True when ``sealed`` is bound to its place and under the sealing key."""
        return sealed[:2] == _BOUND and sealed[2:6] == self._sealing_id


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


def secret_box_for(settings: "Settings") -> SecretBox | None:
    """The box for ``settings``: sealing with HERALD_SECRET_KEY, opening with it and with
    HERALD_OLD_SECRET_KEYS; None when no key is configured."""
    if not settings.secret_key:
        return None
    return SecretBox(settings.secret_key, *settings.old_secret_keys)
