from litestar import Controller, post
from litestar.params import FromPath, JSONBody

from app.deps import CallerDep, DbSession, SettingsDep
from app.messages.controllers import message_out
from app.messages.schemas import MessageOut
from app.messages.test_event import TestEventIn, send_test_event


class TestEventController(Controller):
    path = "/tenants/{tenant:str}/endpoints/{endpoint:str}/test"
    tags = ["endpoints"]

    @post(status_code=202)
    async def send_test_event(
        self,
        session: DbSession,
        caller: CallerDep,
        settings: SettingsDep,
        tenant: FromPath[str],
        endpoint: FromPath[str],
        data: JSONBody[TestEventIn | None] = None,
    ) -> MessageOut:
        """Send a sample event (the event type's example, or ``herald.test``) to this endpoint
        alone: a message with exactly one delivery."""
        event_type = data.event_type if data is not None else None
        message = await send_test_event(
            session, settings, caller.project_id, tenant, endpoint, event_type
        )
        return message_out(message)
