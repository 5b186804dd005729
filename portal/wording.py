"""How values read in the portal and the console (pure; registered as Jinja filters).

- ``error_phrase(kind)``: an attempt's ``error_kind`` in words ("DNS lookup failed").
- ``hours(seconds)``: a duration in hours without a needless ".0" ("24 h", "1.5 h").
- ``next_attempt(when, now)``: when a retry is due ("in 5 min", "any moment now").
- ``short_time(when)``: ``"2026-01-31 09:00"`` (UTC) for a dense table's column.
- ``breakable(text)``: escaped text with ``<wbr>`` after URL and id separators, so a
  long URL wraps at a ``/`` or ``.`` rather than mid-word.
- ``shown_percent(status, done, total)``: a replay's progress as it should read; a
  failed replay shows how far it got, not 100 %.
"""

import re
from datetime import UTC, datetime

from markupsafe import Markup, escape

ERROR_PHRASES = {
    "timeout": "Timed out",
    "connect": "Connection failed",
    "dns": "DNS lookup failed",
    "tls": "TLS handshake failed",
    "http_status": "Error status",
    "blocked": "Address not allowed",
}
# A wrap opportunity after each of these; runs of them stay together ("://").
_SEPARATORS = re.compile(r"([/.?&=_\-#:]+)")


def error_phrase(kind: str | None) -> str:
    """``kind`` (an attempt's ``error_kind``) as a short phrase; "Error" for None."""
    if kind is None:
        return "Error"
    return ERROR_PHRASES.get(kind, kind.replace("_", " ").capitalize())


def hours(seconds: float) -> str:
    """``86400`` → ``"24 h"``, ``5400`` → ``"1.5 h"`` (one decimal at most; a no-break
    space keeps the unit beside its number)."""
    value = round(seconds / 3600, 1)
    return f"{value:g}\u00a0h"


def next_attempt(when: datetime | None, now: datetime | None = None) -> str:
    """``"in 5 min"`` for a retry due in five minutes; ``"any moment now"`` when due."""
    if when is None:
        return "—"
    seconds = int((when - (now or datetime.now(UTC))).total_seconds())
    if seconds <= 0:
        return "any moment now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"in {round(seconds / size)} {unit}"
    return f"in {seconds} s"


def short_time(when: datetime | None) -> str:
    """``when`` in UTC to the minute; ``"—"`` for None."""
    return "—" if when is None else when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def breakable(text: str) -> Markup:
    """``text`` escaped, with a ``<wbr>`` after every run of URL or id separators."""
    parts = _SEPARATORS.split(text)
    return Markup("").join(
        Markup("{}<wbr>").format(part) if index % 2 else escape(part)
        for index, part in enumerate(parts)
    )


def shown_percent(status: str, done: int, total: int) -> int:
    """Progress in whole percent: 100 when completed; how far it got otherwise."""
    if status == "completed":
        return 100
    if total <= 0:
        return 0
    return min(99, done * 100 // total)
