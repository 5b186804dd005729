"""Password hashing with argon2id (memory-hard): off the event loop, and at most
``MAX_CONCURRENT_HASHES`` at once per process.

argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (64 MiB, t=3):
each hash in progress holds 64 MiB and a core for tens of milliseconds, so a burst of
sign-ins must not start them all at once. Hashes run in a pool of that many threads; one
that cannot start within ``HASH_WAIT_S`` is refused with ``Throttled`` (429) rather than
left to queue for as long as the burst lasts.
"""

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import Throttled

MIN_PASSWORD_LENGTH = 10
MAX_CONCURRENT_HASHES = 2  # 128 MiB of argon2 memory per process at most
HASH_WAIT_S = 1.0

_HASHER = PasswordHasher()
# Verified when the e-mail is unknown, so a miss takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("herald-no-such-account")

T = TypeVar("T")


class HashPool:
    """Runs password hashes in ``size`` threads of its own: never more at once, whatever
    the event loop. A hash that has not started ``wait_s`` after it was asked for is
    dropped, and its caller gets ``Throttled``."""

    def __init__(self, size: int, wait_s: float) -> None:
        self.wait_s = wait_s
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="argon2")

    async def run(self, compute: Callable[[], T]) -> T:
        """``compute()`` in one of the pool's threads; ``Throttled`` if none was free in time."""
        deadline = time.monotonic() + self.wait_s

        def job() -> T:
            # A job whose caller has waited too long costs the thread nothing but this check.
            if time.monotonic() > deadline:
                raise Throttled(
                    "too many sign-ins at once; try again in a moment", code="sign_in_busy"
                )
            return compute()

        return await asyncio.get_running_loop().run_in_executor(self._threads, job)


_POOL = HashPool(MAX_CONCURRENT_HASHES, HASH_WAIT_S)


async def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of ``password``; ``Throttled`` when the pool is busy."""
    return await _POOL.run(lambda: _HASHER.hash(password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; a None hash never matches.
    ``Throttled`` when the pool is busy."""

    def verify() -> bool:
        try:
            return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await _POOL.run(verify)
