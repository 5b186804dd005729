"""When to try a request again, and how long to wait first (pure: no I/O, no clock)."""

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

# 429 and 503 mean Herald refused the request before doing anything, so any request may be
# sent again; 502/504 come from a proxy that may have passed it on, like a lost answer.
REFUSED_STATUSES = frozenset({429, 503})
AMBIGUOUS_STATUSES = frozenset({502, 504})

# Failures before the request could have reached the server: safe for every request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped, deferring to ``Retry-After``.

    A request that is not idempotent (a POST other than publish, which carries an
    ``Idempotency-Key``) is retried only when it surely had no effect: it was never sent,
    or Herald refused it with 429/503.
    """

    max_retries: int = 2
    initial_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 60.0

    def should_retry_status(self, status: int, *, idempotent: bool) -> bool:
        return status in REFUSED_STATUSES or (idempotent and status in AMBIGUOUS_STATUSES)

    def should_retry_error(self, error: httpx.TransportError, *, idempotent: bool) -> bool:
        return idempotent or isinstance(error, _NOT_SENT)

    def delay_s(self, retry: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first)."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.max_retry_after_s)
        ceiling_s = min(self.max_delay_s, self.initial_delay_s * 2**retry)
        return random.uniform(0.0, ceiling_s)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds from delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
