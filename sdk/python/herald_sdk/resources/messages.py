"""``messages``: publishing events to a tenant, and following their deliveries."""

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from herald_sdk._operations import R, Resource, list_operation, operation
from herald_sdk._request import ListRequest, Request, body, parse_model, path, query
from herald_sdk.models import Attempt, Delivery, Message, PublishedMessage

_MESSAGES = "/tenants/{}/messages"
_MESSAGE = "/tenants/{}/messages/{}"


class Messages(Resource[R]):
    @operation
    def publish(
        self,
        tenant: str,
        event_type: str,
        payload: Mapping[str, Any],
        *,
        event_id: str | None = None,
        channels: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Request[PublishedMessage]:
        """Publish an event to ``tenant`` (id or uid); it is on its way to every matching
        endpoint once this returns.

        The same ``event_id`` or ``idempotency_key`` (a fresh UUID unless given, the same on
        every retry of this call) within 24 h returns the first message with
        ``duplicate=True`` and delivers nothing again. Raises ``ValidationError`` if the
        payload fails the event type's schema, ``PayloadTooLargeError`` over the limit.
        """
        return Request(
            "POST",
            path(_MESSAGES, tenant),
            _parse_published,
            json=body(
                event_type=event_type,
                payload=payload,
                event_id=event_id,
                channels=list(channels) if channels is not None else None,
                headers=headers,
            ),
            headers={"idempotency-key": idempotency_key or str(uuid.uuid4())},
            idempotent=True,
        )

    @list_operation
    def list(
        self,
        tenant: str,
        *,
        event_type: str | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> ListRequest[Message]:
        """The tenant's messages, newest first (without payloads)."""
        return ListRequest(
            path(_MESSAGES, tenant),
            Message,
            query(event_type=event_type, channel=channel, since=since, until=until, limit=limit),
        )

    @operation
    def get(self, tenant: str, message: str) -> Request[Message]:
        """The message with its ``payload`` and ``headers``."""
        return Request("GET", path(_MESSAGE, tenant, message), parse_model(Message))

    @list_operation
    def deliveries(self, tenant: str, message: str) -> ListRequest[Delivery]:
        """One delivery per endpoint the message goes to, with its state."""
        return ListRequest(path(_MESSAGE + "/deliveries", tenant, message), Delivery)

    @list_operation
    def attempts(
        self, tenant: str, message: str, *, limit: int | None = None
    ) -> ListRequest[Attempt]:
        """Every HTTP attempt made for the message, newest first."""
        return ListRequest(
            path(_MESSAGE + "/attempts", tenant, message), Attempt, query(limit=limit)
        )

    @operation
    def resend(self, tenant: str, message: str, endpoint: str) -> Request[Delivery]:
        """One more attempt to ``endpoint`` now, whatever the delivery's state."""
        return Request(
            "POST",
            path(_MESSAGE + "/endpoints/{}/resend", tenant, message, endpoint),
            parse_model(Delivery),
        )


def _parse_published(response: httpx.Response) -> PublishedMessage:
    message = PublishedMessage.from_json(response.json())
    # 202: a new message; 200: the first message of this event id or idempotency key.
    return dataclasses.replace(message, duplicate=response.status_code == 200)
