"""Test events: a sample message published to one endpoint alone.

The sample is the event type's example payload (``app.event_types.examples``), or, with
no event type, a generic ``herald.test`` event. It is an ordinary message with a single
delivery, so it is signed, retried and logged like any other.
"""

from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import utcnow
from app.db.models import Endpoint, Message
from app.endpoints.service import endpoint_of
from app.errors import Conflict
from app.event_types.examples import example_payload
from app.event_types.service import get_event_type
from app.event_types.validation import validate_payload
from app.messages.service import Draft, NewMessage, publish_payload
from app.tenants.service import get_tenant

TEST_EVENT_TYPE = "herald.test"


class TestEventIn(msgspec.Struct, forbid_unknown_fields=True):
    event_type: str | None = None


async def send_test_event(
    session: AsyncSession,
    settings: Settings,
    project_id: str,
    tenant_key: str,
    endpoint_id: str,
    event_type: str | None,
) -> Message | NewMessage:
    """Publish a sample event to the endpoint only; 404 for an unknown endpoint or event
    type, 409 when the endpoint is disabled, 422 when the example fails the schema."""
    tenant = await get_tenant(session, project_id, tenant_key)
    endpoint = await endpoint_of(session, tenant, endpoint_id)
    if endpoint.disabled:
        raise Conflict(
            f"endpoint {endpoint.id} is disabled; enable it first", code="endpoint_disabled"
        )
    if event_type:
        catalog_entry = await get_event_type(session, project_id, event_type)
        payload = example_payload(catalog_entry.schema)
        await validate_payload(session, project_id, event_type, payload)
    else:
        event_type, payload = TEST_EVENT_TYPE, generic_test_payload(endpoint)
    published = await publish_payload(
        session,
        settings,
        Draft(tenant, event_type, msgspec.json.encode(payload), only_endpoint=endpoint),
    )
    return published.message


def generic_test_payload(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "type": TEST_EVENT_TYPE,
        "timestamp": utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": {
            "endpoint_id": endpoint.id,
            "message": "This is a test event from Herald. Your endpoint received it.",
        },
    }
