"""Sending one claimed delivery: the signed POST of its stored payload bytes."""

from dataclasses import replace

import aiohttp

from app import __version__
from app.db.base import utcnow
from app.delivery.claim import Claimed
from app.delivery.client import AttemptResult, post_webhook
from app.delivery.signing import sign
from app.delivery.ssrf import NetworkPolicy

UNSIGNABLE = "not sent: the endpoint's signing secret cannot be read; rotate it"


async def send(
    http: aiohttp.ClientSession, item: Claimed, timeout_s: float, policy: NetworkPolicy
) -> AttemptResult:
    """POST ``item``'s payload to its endpoint, signed; never raises for the network.
    Without a key to sign with (the endpoint's could not be opened), nothing is sent: the
    attempt fails, saying so."""
    started_at = utcnow()
    if not item.keys:
        return AttemptResult(
            ok=False,
            status_code=None,
            body="",
            duration_ms=0,
            error_kind=None,
            error=UNSIGNABLE,
            retry_after_s=None,
            started_at=started_at,
        )
    timestamp = int(started_at.timestamp())
    message = item.message
    headers = {
        **item.endpoint.headers,
        **(message.headers or {}),
        "content-type": "application/json",
        "user-agent": f"Herald/{__version__}",
        "webhook-id": message.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(message.id, timestamp, message.payload, item.keys),
    }
    result = await post_webhook(
        http, item.endpoint.url, message.payload, headers, timeout_s, policy
    )
    return replace(result, started_at=started_at)
