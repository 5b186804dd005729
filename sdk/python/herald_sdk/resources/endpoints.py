"""``endpoints``: the URLs a tenant receives webhooks at, with their signing secrets."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

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
from herald_sdk.models import Attempt, Endpoint, EndpointSecret, EndpointStats, Message, Replay

_ENDPOINTS = "/tenants/{}/endpoints"
_ENDPOINT = "/tenants/{}/endpoints/{}"


class Endpoints(Resource[R]):
    @operation
    def create(
        self,
        tenant: str,
        url: str,
        *,
        description: str | None = None,
        event_types: Sequence[str] | None = None,
        channels: Sequence[str] | None = None,
        rate_limit: int | None = None,
        paused: bool | None = None,
        disabled: bool | None = None,
        secret: str | None = None,
        headers: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Request[Endpoint]:
        """Add an endpoint to ``tenant`` (id or uid). ``event_types``/``channels`` None
        receive everything; ``rate_limit`` is requests per second; ``paused`` holds its
        deliveries until it is resumed; ``secret`` (``whsec_…`` or ``whsk_…``) is
        generated unless given. 422 for a URL the SSRF guard refuses."""
        return Request(
            "POST",
            path(_ENDPOINTS, tenant),
            parse_model(Endpoint),
            json=body(
                url=url,
                description=description,
                event_types=_listed(event_types),
                channels=_listed(channels),
                rate_limit=rate_limit,
                paused=paused,
                disabled=disabled,
                secret=secret,
                headers=headers,
                metadata=metadata,
            ),
        )

    @list_operation
    def list(self, tenant: str, *, limit: int | None = None) -> ListRequest[Endpoint]:
        return ListRequest(path(_ENDPOINTS, tenant), Endpoint, query(limit=limit))

    @operation
    def get(self, tenant: str, endpoint: str) -> Request[Endpoint]:
        return Request("GET", path(_ENDPOINT, tenant, endpoint), parse_model(Endpoint))

    @operation
    def update(
        self,
        tenant: str,
        endpoint: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        event_types: Sequence[str] | NotGiven | None = NOT_GIVEN,
        channels: Sequence[str] | NotGiven | None = NOT_GIVEN,
        rate_limit: int | NotGiven | None = NOT_GIVEN,
        headers: Mapping[str, str] | NotGiven = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        paused: bool | NotGiven = NOT_GIVEN,
        disabled: bool | NotGiven = NOT_GIVEN,
    ) -> Request[Endpoint]:
        """Change the given fields only; None clears a filter or the rate limit."""
        return _patch(
            tenant,
            endpoint,
            url=url,
            description=description,
            event_types=_listed(event_types),
            channels=_listed(channels),
            rate_limit=rate_limit,
            headers=headers,
            metadata=metadata,
            paused=paused,
            disabled=disabled,
        )

    @operation
    def delete(self, tenant: str, endpoint: str) -> Request[None]:
        return Request("DELETE", path(_ENDPOINT, tenant, endpoint), parse_nothing)

    @operation
    def pause(self, tenant: str, endpoint: str) -> Request[Endpoint]:
        """Hold deliveries (they wait, nothing is lost) until ``resume``."""
        return _patch(tenant, endpoint, paused=True)

    @operation
    def resume(self, tenant: str, endpoint: str) -> Request[Endpoint]:
        return _patch(tenant, endpoint, paused=False)

    @operation
    def disable(self, tenant: str, endpoint: str) -> Request[Endpoint]:
        """Stop delivering to the endpoint (its deliveries fail) until ``enable``."""
        return _patch(tenant, endpoint, disabled=True)

    @operation
    def enable(self, tenant: str, endpoint: str) -> Request[Endpoint]:
        return _patch(tenant, endpoint, disabled=False)

    @operation
    def get_secret(self, tenant: str, endpoint: str) -> Request[EndpointSecret]:
        """The current signing key (``whsec_…``; ``whsk_…`` with ``public_key`` for ed25519)."""
        return Request(
            "GET", path(_ENDPOINT + "/secret", tenant, endpoint), parse_model(EndpointSecret)
        )

    @operation
    def rotate_secret(self, tenant: str, endpoint: str, *, key: str | None = None) -> Request[None]:
        """Replace the signing key (with ``key``, or a new one of the same kind); the old
        key keeps signing beside it for the project's overlap window."""
        return Request(
            "POST",
            path(_ENDPOINT + "/secret/rotate", tenant, endpoint),
            parse_nothing,
            json=body(key=key),
        )

    @operation
    def recover(
        self, tenant: str, endpoint: str, *, since: datetime, until: datetime | None = None
    ) -> Request[Replay]:
        """Resend the endpoint's failed and exhausted deliveries of the window, as a job."""
        return Request(
            "POST",
            path(_ENDPOINT + "/recover", tenant, endpoint),
            parse_model(Replay),
            json=body(since=since, until=until),
        )

    @operation
    def send_test(
        self, tenant: str, endpoint: str, *, event_type: str | None = None
    ) -> Request[Message]:
        """Send a sample event to this endpoint alone; the message to follow it by."""
        return Request(
            "POST",
            path(_ENDPOINT + "/test", tenant, endpoint),
            parse_model(Message),
            json=body(event_type=event_type),
        )

    @operation
    def stats(
        self, tenant: str, endpoint: str, *, since: datetime | None = None
    ) -> Request[EndpointStats]:
        """Deliveries by state and the success rate since ``since`` (server default if None)."""
        return Request(
            "GET",
            path(_ENDPOINT + "/stats", tenant, endpoint),
            parse_model(EndpointStats),
            params=query(since=since),
        )

    @list_operation
    def attempts(
        self,
        tenant: str,
        endpoint: str,
        *,
        status: Literal["succeeded", "failed"] | None = None,
        limit: int | None = None,
    ) -> ListRequest[Attempt]:
        """Every attempt made to the endpoint, newest first."""
        return ListRequest(
            path(_ENDPOINT + "/attempts", tenant, endpoint),
            Attempt,
            query(status=status, limit=limit),
        )


def _patch(tenant: str, endpoint: str, **fields: Any) -> Request[Endpoint]:
    return Request(
        "PATCH", path(_ENDPOINT, tenant, endpoint), parse_model(Endpoint), json=patch(**fields)
    )


def _listed(values: Sequence[str] | NotGiven | None) -> list[str] | NotGiven | None:
    """A JSON-ready list; a lone string would otherwise be sent as a list of characters."""
    if isinstance(values, str):
        return [values]
    if values is None or values is NOT_GIVEN:
        return values
    return list(values)
