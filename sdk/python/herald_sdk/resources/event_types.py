"""``event_types``: the project's catalog of event names, each with an optional JSON Schema."""

from collections.abc import Mapping
from typing import Any

from herald_sdk._operations import R, Resource, list_operation, operation
from herald_sdk._request import (
    NOT_GIVEN,
    ListRequest,
    NotGiven,
    Request,
    body,
    parse_model,
    parse_nothing,
    patch,
    path,
    query,
)
from herald_sdk.models import EventType


class EventTypes(Resource[R]):
    @operation
    def create(
        self,
        name: str,
        *,
        description: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> Request[EventType]:
        """Add ``name`` (e.g. ``invoice.paid``) to the catalog; payloads published with it
        must then match ``schema``, if given. 409 if the name exists."""
        return Request(
            "POST",
            "/event-types",
            parse_model(EventType),
            json=body(name=name, description=description, schema=schema),
        )

    @list_operation
    def list(
        self, *, include_archived: bool | None = None, limit: int | None = None
    ) -> ListRequest[EventType]:
        """The catalog, newest first (archived types only with ``include_archived``)."""
        return ListRequest(
            "/event-types", EventType, query(include_archived=include_archived, limit=limit)
        )

    @operation
    def get(self, name: str) -> Request[EventType]:
        return Request("GET", path("/event-types/{}", name), parse_model(EventType))

    @operation
    def update(
        self,
        name: str,
        *,
        description: str | NotGiven = NOT_GIVEN,
        schema: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        archived: bool | NotGiven = NOT_GIVEN,
    ) -> Request[EventType]:
        """Change the given fields only; ``schema=None`` removes the schema."""
        return Request(
            "PATCH",
            path("/event-types/{}", name),
            parse_model(EventType),
            json=patch(description=description, schema=schema, archived=archived),
        )

    @operation
    def delete(self, name: str) -> Request[None]:
        """Archive the event type (messages already published keep it)."""
        return Request("DELETE", path("/event-types/{}", name), parse_nothing)
