"""Prefixed, time-sortable, opaque identifiers: ``new_id("msg")`` → ``"msg_01JD…"``.

The body is a ULID: 48 bits of milliseconds since the epoch then 80 random bits, in
Crockford base32, so ids sort by creation time as plain strings in every database.
"""

import secrets
import time
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset({"prj", "key", "tnt", "evt", "ep", "sec", "msg", "dlv", "atm", "rpl", "stf"})


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """Return a new id for ``prefix`` (one of ``PREFIXES``)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return _encode(prefix, (ms << 80) | secrets.randbits(80))


def id_floor(prefix: str, at: datetime) -> str:
    """The smallest id of kind ``prefix`` that ``new_id`` could make at or after ``at``.

    Lets a query on a time window start its primary-key scan at the window's start.
    """
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return _encode(prefix, max(0, int(at.timestamp() * 1000)) << 80)


def _encode(prefix: str, value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def has_prefix(value: str, prefix: str) -> bool:
    """True when ``value`` looks like an id of kind ``prefix``."""
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 27
