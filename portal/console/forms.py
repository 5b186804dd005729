"""Reading the console's forms and query strings; parsing never raises.

Times come from ``<input type="datetime-local">`` (no offset) and are read as UTC, as the
labels say; a value that is not a time is reported in ``errors``.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def text(values: Mapping[str, Any], name: str, limit: int = 300) -> str:
    return str(values.get(name) or "").strip()[:limit]


def utc_time(values: Mapping[str, Any], name: str, errors: dict[str, str]) -> datetime | None:
    raw = text(values, name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        errors[name] = "is not a date and time"
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def local_input(value: datetime | None) -> str:
    """A UTC time as a ``datetime-local`` input value."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""
