"""The two ways of carrying out a ``Request``: blocking (``SyncRunner``) and async
(``AsyncRunner``). Both share ``ClientOptions`` and the retry logic of ``_transport``."""

import functools
import inspect
import os
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from herald_sdk import _transport
from herald_sdk._pagination import AsyncPager, SyncPager
from herald_sdk._request import ListRequest, M, Request
from herald_sdk._retry import RetryPolicy
from herald_sdk._version import __version__
from herald_sdk.errors import HeraldError

P = ParamSpec("P")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_S = 30.0
API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class ClientOptions:
    """What both clients are configured with. ``from_arguments`` fills the gaps from the
    environment (``HERALD_API_KEY``, ``HERALD_BASE_URL``) at construction, never at import."""

    api_key: str = field(repr=False)
    base_url: str
    timeout_s: float
    retry: RetryPolicy

    @classmethod
    def from_arguments(
        cls,
        api_key: str | None,
        base_url: str | None,
        timeout_s: float,
        max_retries: int,
        environ: Mapping[str, str] | None = None,
    ) -> "ClientOptions":
        """Raises ``HeraldError`` when no API key is given or in the environment."""
        env = os.environ if environ is None else environ
        api_key = api_key or env.get("HERALD_API_KEY")
        if not api_key:
            raise HeraldError(
                "no API key: pass api_key= or set HERALD_API_KEY", code="missing_api_key"
            )
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        base_url = (base_url or env.get("HERALD_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        return cls(api_key, base_url, timeout_s, RetryPolicy(max_retries=max_retries))

    def build(
        self, client: httpx.Client | httpx.AsyncClient, request: Request[Any]
    ) -> httpx.Request:
        """The HTTP request for ``request``, with the key, our user agent and the timeout."""
        headers = {
            "authorization": f"Bearer {self.api_key}",
            "accept": "application/json",
            "user-agent": f"herald-sdk-python/{__version__}",
            **request.headers,
        }
        return client.build_request(
            request.method,
            self.base_url + API_PREFIX + request.path,
            params=request.params,
            json=request.json if request.has_body else None,
            headers=headers,
            timeout=httpx.Timeout(self.timeout_s),
        )


class SyncRunner:
    """Carries out requests with an ``httpx.Client`` (its own unless one is given)."""

    def __init__(self, options: ClientOptions, http_client: httpx.Client | None) -> None:
        self.options = options
        self._owns_client = http_client is None
        self.http_client = http_client or httpx.Client()

    def execute(self, request: Request[T]) -> T:
        """The parsed result of ``request``; raises ``HeraldError``s (see ``errors``)."""
        built = self.options.build(self.http_client, request)
        steps = _transport.exchange(built, self.options.retry, idempotent=request.is_idempotent)
        return request.parse(_transport.send_sync(self.http_client, steps))

    def bind(
        self, spec: Callable[Concatenate[Any, P], Request[T]], resource: object
    ) -> Callable[P, T]:
        @_shown_as(spec)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.execute(spec(resource, *args, **kwargs))

        return call

    def bind_list(
        self, spec: Callable[Concatenate[Any, P], ListRequest[M]], resource: object
    ) -> Callable[P, SyncPager[M]]:
        @_shown_as(spec)
        def call(*args: P.args, **kwargs: P.kwargs) -> SyncPager[M]:
            return SyncPager(spec(resource, *args, **kwargs), self.execute)

        return call

    def close(self) -> None:
        if self._owns_client:
            self.http_client.close()


class AsyncRunner:
    """Carries out requests with an ``httpx.AsyncClient`` (its own unless one is given)."""

    def __init__(self, options: ClientOptions, http_client: httpx.AsyncClient | None) -> None:
        self.options = options
        self._owns_client = http_client is None
        self.http_client = http_client or httpx.AsyncClient()

    async def execute(self, request: Request[T]) -> T:
        """The parsed result of ``request``; raises ``HeraldError``s (see ``errors``)."""
        built = self.options.build(self.http_client, request)
        steps = _transport.exchange(built, self.options.retry, idempotent=request.is_idempotent)
        return request.parse(await _transport.send_async(self.http_client, steps))

    def bind(
        self, spec: Callable[Concatenate[Any, P], Request[T]], resource: object
    ) -> Callable[P, Coroutine[Any, Any, T]]:
        @_shown_as(spec)
        async def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.execute(spec(resource, *args, **kwargs))

        return call

    def bind_list(
        self, spec: Callable[Concatenate[Any, P], ListRequest[M]], resource: object
    ) -> Callable[P, AsyncPager[M]]:
        @_shown_as(spec)
        def call(*args: P.args, **kwargs: P.kwargs) -> AsyncPager[M]:
            return AsyncPager(spec(resource, *args, **kwargs), self.execute)

        return call

    async def close(self) -> None:
        if self._owns_client:
            await self.http_client.aclose()


def _shown_as(spec: Callable[..., Any]) -> Callable[[F], F]:
    """Give the bound method the name, docstring and parameters (less ``self``) of ``spec``,
    so that ``help()`` and IDEs show the call as users make it."""

    def decorate(call: F) -> F:
        functools.update_wrapper(call, spec)
        signature = inspect.signature(spec)
        parameters = list(signature.parameters.values())[1:]
        shown = signature.replace(parameters=parameters, return_annotation=signature.empty)
        setattr(call, "__signature__", shown)  # noqa: B010 - not a declared attribute
        return call

    return decorate
