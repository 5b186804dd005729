"""Password hashing with argon2id (memory-hard), off the event loop.

argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (64 MiB, t=3);
one hash costs tens of milliseconds of CPU, so it runs in a worker thread.
"""

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verified when the e-mail is unknown, so a miss takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("herald-no-such-account")

MIN_PASSWORD_LENGTH = 10


async def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of ``password``."""
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; a None hash never matches."""

    def verify() -> bool:
        try:
            return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
