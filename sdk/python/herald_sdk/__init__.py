"""Herald's Python SDK: publish events, manage tenants and endpoints, verify webhooks.

    from herald_sdk import Herald

    herald = Herald()  # HERALD_API_KEY, HERALD_BASE_URL
    herald.messages.publish("acme", "invoice.paid", {"invoice": "in_1"})

``AsyncHerald`` is the same API for asyncio; errors are in ``herald_sdk.errors``,
receiver-side verification in ``herald_sdk.webhooks``.
"""

from herald_sdk._client import AsyncHerald, Herald
from herald_sdk._pagination import AsyncPager, SyncPager
from herald_sdk._request import NOT_GIVEN, NotGiven
from herald_sdk._version import __version__
from herald_sdk.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    HeraldError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationError,
    WebhookVerificationError,
)
from herald_sdk.models import (
    ApiKey,
    Attempt,
    Branding,
    Delivery,
    DeliveryCounts,
    Endpoint,
    EndpointSecret,
    EndpointStats,
    EventType,
    Message,
    NewApiKey,
    PortalAccess,
    Project,
    PublishedMessage,
    Replay,
    ReplayActor,
    Tenant,
)

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "ApiKey",
    "AsyncHerald",
    "AsyncPager",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "Branding",
    "ConflictError",
    "Delivery",
    "DeliveryCounts",
    "Endpoint",
    "EndpointSecret",
    "EndpointStats",
    "EventType",
    "Herald",
    "HeraldError",
    "InternalServerError",
    "Message",
    "NewApiKey",
    "NotFoundError",
    "NotGiven",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PortalAccess",
    "Project",
    "PublishedMessage",
    "RateLimitedError",
    "Replay",
    "ReplayActor",
    "ServiceUnavailableError",
    "SyncPager",
    "Tenant",
    "ValidationError",
    "WebhookVerificationError",
    "__version__",
]
