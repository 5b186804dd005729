"""Resources are written once for both clients: each method builds a ``Request`` (or a
``ListRequest``), and the ``operation``/``list_operation`` decorator turns it, on access,
into a method of the right kind for the resource's runner::

    class Tenants(Resource[R]):
        @operation
        def get(self, tenant: str) -> Request[Tenant]: ...

    Herald(...).tenants.get("acme")             # -> Tenant
    await AsyncHerald(...).tenants.get("acme")  # -> Tenant
"""

from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from herald_sdk._pagination import AsyncPager, SyncPager
from herald_sdk._request import ListRequest, M, Request
from herald_sdk._runner import AsyncRunner, SyncRunner

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", SyncRunner, AsyncRunner)


class Resource(Generic[R]):
    """A group of API calls (``tenants``, ``endpoints``…) carried out by ``runner``."""

    def __init__(self, runner: R) -> None:
        self._runner: R = runner


class operation(Generic[P, T]):
    """A method returning ``T`` (``Herald``) or a coroutine of ``T`` (``AsyncHerald``)."""

    def __init__(self, spec: Callable[Concatenate[Any, P], Request[T]]) -> None:
        self._spec = spec
        self.__doc__ = spec.__doc__

    @overload
    def __get__(self, resource: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, resource: Resource[SyncRunner], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, resource: Resource[AsyncRunner], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, resource: Resource[Any] | None, owner: type[Any]) -> Any:
        if resource is None:
            return self
        return resource._runner.bind(self._spec, resource)


class list_operation(Generic[P, M]):
    """A method returning a lazy ``SyncPager`` (``Herald``) or ``AsyncPager`` (``AsyncHerald``)."""

    def __init__(self, spec: Callable[Concatenate[Any, P], ListRequest[M]]) -> None:
        self._spec = spec
        self.__doc__ = spec.__doc__

    @overload
    def __get__(self, resource: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, resource: Resource[SyncRunner], owner: type[Any]
    ) -> Callable[P, SyncPager[M]]: ...
    @overload
    def __get__(
        self, resource: Resource[AsyncRunner], owner: type[Any]
    ) -> Callable[P, AsyncPager[M]]: ...
    def __get__(self, resource: Resource[Any] | None, owner: type[Any]) -> Any:
        if resource is None:
            return self
        return resource._runner.bind_list(self._spec, resource)
