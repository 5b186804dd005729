"""Prefixed, time-sortable, opaque identifiers: ``new_id("msg")`` → ``"msg_01JD…"``.

The body is a ULID: 48 bits of milliseconds since the epoch then 80 random bits, in
Crockford base32 (10 characters of time, 16 random ones), so ids sort by creation time as
plain strings in every database.
"""

import os
import time
from datetime import datetime
from functools import lru_cache

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset({"prj", "key", "tnt", "evt", "ep", "sec", "msg", "dlv", "atm", "rpl", "stf"})
TIME_CHARS = 10
RANDOM_CHARS = 16
# Byte → the character of its low five bits. 256 is a multiple of 32, so uniformly random
# bytes give uniformly random characters, and ``bytes.translate`` maps them in C: ids are
# made on the hot path (a message and each of its deliveries and attempts).
_CHARACTER_OF_BYTE = bytes(ord(_ALPHABET[byte & 31]) for byte in range(256))


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """Return a new id for ``prefix`` (one of ``PREFIXES``)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    randomness = os.urandom(RANDOM_CHARS).translate(_CHARACTER_OF_BYTE).decode("ascii")
    return f"{prefix}_{_time_part(ms)}{randomness}"


def id_floor(prefix: str, at: datetime) -> str:
    """The smallest id of kind ``prefix`` that ``new_id`` could make at or after ``at``.

    Lets a query on a time window start its primary-key scan at the window's start.
    """
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return f"{prefix}_{_time_part(max(0, int(at.timestamp() * 1000)))}{'0' * RANDOM_CHARS}"


@lru_cache(maxsize=256)  # ids made in the same millisecond share it
def _time_part(ms: int) -> str:
    chars = []
    for _ in range(TIME_CHARS):
        chars.append(_ALPHABET[ms & 31])
        ms >>= 5
    return "".join(reversed(chars))


def has_prefix(value: str, prefix: str) -> bool:
    """True when ``value`` looks like an id of kind ``prefix``."""
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 27
