"""What a call to Herald is, before anything is sent: method, path, query, body, and how
the reply becomes a typed result. Resources build these; the clients send them."""

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Generic, TypeVar
from urllib.parse import quote

import httpx

from herald_sdk.models import Model

T = TypeVar("T")
M = TypeVar("M", bound=Model)


class NotGiven(enum.Enum):
    """The type of ``NOT_GIVEN``: "leave this field alone", unlike None, which clears it."""

    NOT_GIVEN = enum.auto()

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Final = NotGiven.NOT_GIVEN

_NO_BODY: Final[object] = object()


@dataclass(frozen=True)
class Request(Generic[T]):
    """One API call; ``parse`` turns its 2xx reply into the result.

    ``idempotent`` says whether sending it twice has the effect of sending it once; it
    decides which failures may be retried (see ``RetryPolicy``).
    """

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = _NO_BODY
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool | None = None

    @property
    def is_idempotent(self) -> bool:
        return self.method != "POST" if self.idempotent is None else self.idempotent

    @property
    def has_body(self) -> bool:
        return self.json is not _NO_BODY


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    iterator: str | None
    done: bool


@dataclass(frozen=True)
class ListRequest(Generic[M]):
    """A list call: ``page(iterator)`` is the request for one page of ``model``s."""

    path: str
    model: type[M]
    params: Mapping[str, str] = field(default_factory=dict)

    def page(self, iterator: str | None) -> Request[Page[M]]:
        params = dict(self.params)
        if iterator is not None:
            params["iterator"] = iterator
        return Request("GET", self.path, self._parse_page, params=params)

    def _parse_page(self, response: httpx.Response) -> Page[M]:
        body = response.json()
        return Page(
            data=[self.model.from_json(item) for item in body["data"]],
            iterator=body.get("iterator"),
            done=bool(body.get("done", True)),
        )


def path(template: str, *segments: str) -> str:
    """``template`` with each ``{}`` replaced by a percent-encoded segment (ids and uids)."""
    return template.format(*(quote(segment, safe="") for segment in segments))


def parse_model(model: type[M]) -> Callable[[httpx.Response], M]:
    """The ``parse`` of a call whose reply is one ``model``."""

    def parse(response: httpx.Response) -> M:
        return model.from_json(response.json())

    return parse


def parse_nothing(response: httpx.Response) -> None:
    """The ``parse`` of a call whose reply has no body (204)."""


def body(**values: Any) -> dict[str, Any]:
    """A JSON body of the given fields, leaving out None and ``NOT_GIVEN`` (for creates)."""
    return {
        name: _wire(value)
        for name, value in values.items()
        if value is not None and value is not NOT_GIVEN
    }


def patch(**values: Any) -> dict[str, Any]:
    """A JSON body of the given fields, leaving out ``NOT_GIVEN`` only: None clears."""
    return {name: _wire(value) for name, value in values.items() if value is not NOT_GIVEN}


def query(**values: Any) -> dict[str, str]:
    """Query parameters of the given values, leaving out None and ``NOT_GIVEN``."""
    return {
        name: _query_text(value)
        for name, value in values.items()
        if value is not None and value is not NOT_GIVEN
    }


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(_wire(value))


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value
