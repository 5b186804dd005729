"""Values sealed as Herald wrote them before secrets were bound to their rows (``H1``)."""

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.secretbox import derive_key


def seal_unbound(master_key: str, plaintext: str) -> bytes:
    """``plaintext`` in the legacy format: ``b"H1" + key_id + nonce + ciphertext+tag``,
    with ``b"H1"`` alone as associated data."""
    key = derive_key(master_key)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), b"H1")
    return b"H1" + hashlib.sha256(key).digest()[:4] + nonce + sealed
