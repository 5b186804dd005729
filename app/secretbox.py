"""Endpoint secrets at rest: AES-256-GCM under a key derived from HERALD_SECRET_KEY.

Sealed format: ``b"H1" + key_id (4 bytes) + nonce (12 bytes) + ciphertext+tag``. The key
id lets ``herald rotate-master-key`` open values sealed under an older master key.
"""

import hashlib
import os
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from app.config import Settings

_MAGIC = b"H1"
_HEADER = len(_MAGIC) + 4 + 12


class SecretBoxError(Exception):
    """A sealed value could not be opened: wrong master key or corrupted data."""


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

    def seal(self, plaintext: str) -> bytes:
        nonce = os.urandom(12)
        sealed = self._sealing.encrypt(nonce, plaintext.encode(), _MAGIC)
        return _MAGIC + self._sealing_id + nonce + sealed

    def open(self, sealed: bytes) -> str:
        if len(sealed) < _HEADER or not sealed.startswith(_MAGIC):
            raise SecretBoxError("not a sealed Herald secret")
        aead = self._opening.get(sealed[2:6])
        if aead is None:
            raise SecretBoxError("sealed under a master key this process does not have")
        try:
            return aead.decrypt(sealed[6:18], sealed[18:], _MAGIC).decode()
        except Exception as exc:
            raise SecretBoxError("secret failed authentication") from exc

    def is_current(self, sealed: bytes) -> bool:
        """True when ``sealed`` is already under the sealing key."""
        return sealed[2:6] == self._sealing_id


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


def secret_box_for(settings: "Settings") -> SecretBox | None:
    """The box for ``settings``: sealing with HERALD_SECRET_KEY, opening with it and with
    HERALD_OLD_SECRET_KEYS; None when no key is configured."""
    if not settings.secret_key:
        return None
    return SecretBox(settings.secret_key, *settings.old_secret_keys)
