from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from app.db.models import Delivery, Message
from app.deps import CallerDep, DbSession, SettingsDep
from app.messages import service
from app.messages.publish import publish
from app.messages.schemas import DeliveryOut, MessageDetailOut, MessageIn, MessageOut
from app.pagination import ListOut, PageRequest, list_out


def message_out(message: Message | service.NewMessage) -> MessageOut:
    return MessageOut(
        id=message.id,
        tenant_id=message.tenant_id,
        event_type=message.event_type,
        event_id=message.event_id,
        channels=message.channels,
        created_at=message.created_at,
    )


def message_detail_out(message: Message) -> MessageDetailOut:
    return MessageDetailOut(
        **msgspec.structs.asdict(message_out(message)),
        payload=msgspec.Raw(message.payload),
        headers=message.headers,
    )


def delivery_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        message_id=delivery.message_id,
        endpoint_id=delivery.endpoint_id,
        status=delivery.status,
        attempt_count=delivery.attempt_count,
        next_attempt_at=delivery.next_attempt_at,
        last_status_code=delivery.last_status_code,
        last_attempt_at=delivery.last_attempt_at,
    )


class MessageController(Controller):
    path = "/tenants/{tenant:str}/messages"
    tags = ["messages"]

    @post(status_code=202)
    async def publish(
        self,
        state: State,
        caller: CallerDep,
        tenant: FromPath[str],
        data: JSONBody[MessageIn],
        idempotency_key: Annotated[str | None, HeaderParameter(name="idempotency-key")] = None,
    ) -> Response[MessageOut]:
        """Publish an event: 202 when new, 200 with the first message for a duplicate."""
        # The app's settings and publisher come from ``state``, not as dependencies: on the
        # hot path, one dependency resolves inline where several would spawn a task group.
        request = service.prepare(state.settings, caller.project_id, tenant, data, idempotency_key)
        published = await publish(state.publisher, request)
        return Response(
            message_out(published.message), status_code=202 if published.created else 200
        )

    @get()
    async def list_messages(
        self,
        session: DbSession,
        caller: CallerDep,
        tenant: FromPath[str],
        event_type: FromQuery[str | None] = None,
        channel: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: FromQuery[int | None] = None,
        iterator: FromQuery[str | None] = None,
    ) -> ListOut[MessageOut]:
        filters = service.MessageFilter(event_type, channel, since, until)
        page = await service.list_messages(
            session, caller.project_id, tenant, filters, PageRequest.parse(limit, iterator)
        )
        return list_out(page, message_out)

    @get("/{message:str}")
    async def get_message(
        self, session: DbSession, caller: CallerDep, tenant: FromPath[str], message: FromPath[str]
    ) -> MessageDetailOut:
        return message_detail_out(
            await service.get_message(session, caller.project_id, tenant, message)
        )

    @get("/{message:str}/deliveries")
    async def list_deliveries(
        self, session: DbSession, caller: CallerDep, tenant: FromPath[str], message: FromPath[str]
    ) -> ListOut[DeliveryOut]:
        deliveries = await service.list_deliveries(session, caller.project_id, tenant, message)
        return ListOut(data=[delivery_out(d) for d in deliveries], iterator=None, done=True)

    @post("/{message:str}/endpoints/{endpoint:str}/resend", status_code=202)
    async def resend(
        self,
        session: DbSession,
        caller: CallerDep,
        settings: SettingsDep,
        tenant: FromPath[str],
        message: FromPath[str],
        endpoint: FromPath[str],
    ) -> DeliveryOut:
        delivery = await service.resend(
            session, settings, caller.project_id, tenant, message, endpoint
        )
        return delivery_out(delivery)
