"""A webhook receiver for Herald, in Litestar: verify, deduplicate, then handle.

    pip install herald-sdk litestar uvicorn
    HERALD_WEBHOOK_SECRET=whsec_… uvicorn --factory receiver_litestar:app_from_env --port 9000

Register ``http://<host>:9000/webhooks/herald`` as the endpoint's URL, and the endpoint's
secret (``herald.endpoints.get_secret(...)``; the ``whpk_…`` public key for an ed25519
endpoint) as ``HERALD_WEBHOOK_SECRET``.
"""

import logging
import os
from collections.abc import Callable
from typing import Any

from herald_sdk.webhooks import Webhook, WebhookVerificationError
from litestar import Litestar, Request, post
from litestar.exceptions import HTTPException

log = logging.getLogger("receiver")

Handler = Callable[[str, Any], None]


def log_event(message_id: str, event: Any) -> None:
    log.info("webhook %s: %s", message_id, event)


def create_app(secret: str, handle: Handler = log_event) -> Litestar:
    """The receiver's app; ``handle(message_id, event)`` runs once per message."""
    webhook = Webhook(secret)
    seen: set[str] = set()  # in production: a unique column in your database

    @post("/webhooks/herald", status_code=204)
    async def receive(request: Request[Any, Any, Any]) -> None:
        # Verify the raw bytes, before anything parses them.
        body = await request.body()
        try:
            event = webhook.verify(body, request.headers)
        except WebhookVerificationError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        # Every attempt of a message has the same webhook-id: handle it once, and still
        # answer 2xx to a repeat, or Herald will keep retrying it.
        message_id = request.headers["webhook-id"]
        if message_id not in seen:
            seen.add(message_id)
            handle(message_id, event)

    return Litestar([receive])


def app_from_env() -> Litestar:
    """The app for ``uvicorn --factory``: the secret is read when the server starts."""
    return create_app(os.environ["HERALD_WEBHOOK_SECRET"])
