"""Publishing one message: its payload validated first, then the shared batch.

Publishes share a transaction (``app.messages.batcher``), so nothing slow may run inside
one: a payload is checked against its event type's schema *before* the batch, off the
event loop (``app.event_types.validation``), against the version this process saw last.
The batch only confirms that version is still the current one; when it is not (the first
publish of an event type in this process, or just after a PATCH), the request comes back
with the current version, is checked against it and goes in again. A slow or hostile
schema thus costs its own publisher the time budget, never the batch-mates.
"""

from dataclasses import replace

from app.batching import Batcher
from app.errors import Conflict
from app.event_types.validation import SchemaVersion, check_payload, latest
from app.messages.service import Published, PublishRequest, SchemaChanged

# A schema changed again between the check and the batch this many times in a row: a
# PATCH loop racing the publish. Give up with a 409 rather than retry without end.
MAX_SUBMISSIONS = 3


async def publish(
    publisher: Batcher[PublishRequest, Published], request: PublishRequest
) -> Published:
    """Validate ``request``'s payload, then store it in a shared batch; raises what
    refuses it (``ValidationFailed`` for the payload, ``NotFound``…)."""
    version = latest.get((request.project_id, request.data.event_type))
    for _ in range(MAX_SUBMISSIONS):
        if version is not None:
            request = await _checked(request, version)
        try:
            return await publisher.submit(request)
        except SchemaChanged as changed:
            version = changed.version
    raise Conflict(
        f"the schema of event type {request.data.event_type!r} kept changing during the "
        "publish; try again",
        code="schema_changed",
    )


async def _checked(request: PublishRequest, version: SchemaVersion) -> PublishRequest:
    await check_payload(version, request.data.event_type, request.data.payload)
    return replace(request, validated=version.key)
