"""``Herald`` and ``AsyncHerald``: the same resources, carried out blocking or async."""

from typing import Generic, Self, TypeVar

import httpx

from herald_sdk._operations import R
from herald_sdk._runner import DEFAULT_TIMEOUT_S, AsyncRunner, ClientOptions, SyncRunner
from herald_sdk.resources.api_keys import ApiKeys
from herald_sdk.resources.endpoints import Endpoints
from herald_sdk.resources.event_types import EventTypes
from herald_sdk.resources.messages import Messages
from herald_sdk.resources.portal_access import PortalAccessResource
from herald_sdk.resources.project import ProjectResource
from herald_sdk.resources.replays import Replays
from herald_sdk.resources.tenants import Tenants

H = TypeVar("H", httpx.Client, httpx.AsyncClient)


class _Client(Generic[R, H]):
    """Every resource of the API, bound to the runner of the concrete client."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = 2,
        http_client: H | None = None,
    ) -> None:
        options = ClientOptions.from_arguments(api_key, base_url, timeout_s, max_retries)
        runner = self._new_runner(options, http_client)
        self._runner: R = runner
        self.tenants: Tenants[R] = Tenants(runner)
        self.event_types: EventTypes[R] = EventTypes(runner)
        self.endpoints: Endpoints[R] = Endpoints(runner)
        self.messages: Messages[R] = Messages(runner)
        self.portal_access: PortalAccessResource[R] = PortalAccessResource(runner)
        self.replays: Replays[R] = Replays(runner)
        self.project: ProjectResource[R] = ProjectResource(runner)
        self.api_keys: ApiKeys[R] = ApiKeys(runner)

    def _new_runner(self, options: ClientOptions, http_client: H | None) -> R:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return self._runner.options.base_url


class Herald(_Client[SyncRunner, httpx.Client]):
    """The blocking client::

        with Herald() as herald:  # key from HERALD_API_KEY, URL from HERALD_BASE_URL
            herald.messages.publish("acme", "invoice.paid", {"id": "in_1"})

    ``Herald(api_key=None, base_url=None, *, timeout_s=30.0, max_retries=2,
    http_client=None)``: ``timeout_s`` bounds each try; failures that are safe to retry
    are retried ``max_retries`` times with backoff; ``http_client``, if given, is used as
    is and left open by ``close``. Raises ``HeraldError`` when there is no API key.
    """

    def _new_runner(self, options: ClientOptions, http_client: httpx.Client | None) -> SyncRunner:
        return SyncRunner(options, http_client)

    def close(self) -> None:
        self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncHerald(_Client[AsyncRunner, httpx.AsyncClient]):
    """The async client, the same as ``Herald`` (and made the same way) with every call
    awaited::

        async with AsyncHerald() as herald:
            await herald.messages.publish("acme", "invoice.paid", {"id": "in_1"})
            async for message in herald.messages.list("acme"):
                ...
    """

    def _new_runner(
        self, options: ClientOptions, http_client: httpx.AsyncClient | None
    ) -> AsyncRunner:
        return AsyncRunner(options, http_client)

    async def close(self) -> None:
        await self._runner.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
