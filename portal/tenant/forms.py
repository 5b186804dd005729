"""Endpoint forms: HTML form fields ⇄ the API's ``EndpointIn`` / ``EndpointPatch``.

Parsing never raises: field problems come back in ``errors`` (field → message) so the
form can be shown again with the user's input and the messages beside the fields.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from app.db.models import Endpoint
from app.endpoints.schemas import EndpointIn, EndpointPatch

T = TypeVar("T")


@dataclass
class EndpointForm:
    """The form's values as typed (strings), and errors per field."""

    url: str = ""
    description: str = ""
    event_types: list[str] = field(default_factory=list)
    channels: str = ""
    rate_limit: str = ""
    headers: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, endpoint: Endpoint) -> "EndpointForm":
        return cls(
            url=endpoint.url,
            description=endpoint.description,
            event_types=list(endpoint.event_types or []),
            channels=", ".join(endpoint.channels or []),
            rate_limit=str(endpoint.rate_limit or ""),
            headers="\n".join(f"{name}: {value}" for name, value in endpoint.headers.items()),
        )

    @classmethod
    def parse(cls, form: Mapping[str, Any], event_types: list[str]) -> "EndpointForm":
        return cls(
            url=str(form.get("url", "")).strip(),
            description=str(form.get("description", "")).strip(),
            event_types=[str(name) for name in event_types],
            channels=str(form.get("channels", "")).strip(),
            rate_limit=str(form.get("rate_limit", "")).strip(),
            headers=str(form.get("headers", "")).strip(),
        )

    def fields(self) -> dict[str, Any]:
        """The API fields; problems found on the way are added to ``errors``."""
        values: dict[str, Any] = {
            "url": self.url,
            "description": self.description,
            "event_types": self.event_types or None,
            "channels": [c.strip() for c in self.channels.split(",") if c.strip()] or None,
            "rate_limit": None,
            "headers": self._headers(),
        }
        if self.rate_limit:
            try:
                values["rate_limit"] = int(self.rate_limit)
            except ValueError:
                self.errors["rate_limit"] = "enter a whole number of requests per second"
        return values

    def to_create(self) -> EndpointIn | None:
        return self._convert(EndpointIn)

    def to_patch(self) -> EndpointPatch | None:
        return self._convert(EndpointPatch)

    def _convert(self, kind: type[T]) -> T | None:
        values = self.fields()
        if self.errors:
            return None
        try:
            return msgspec.convert(values, kind)
        except msgspec.ValidationError as exc:
            self.errors[_field_of(str(exc))] = str(exc).split(" - at ")[0]
            return None

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for number, line in enumerate(self.headers.splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                self.errors["headers"] = f"line {number}: write one 'Name: value' per line"
                continue
            headers[name.strip()] = value.strip()
        return headers


def _field_of(message: str) -> str:
    """``"… - at `$.rate_limit`"`` → ``"rate_limit"`` (the form's field names match)."""
    _, _, where = message.partition("`$.")
    return where.split("`")[0].split("[")[0] or "url"
