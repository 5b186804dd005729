"""Lazy iteration over Herald's lists: a page is fetched only when the previous one is used up."""

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic

from herald_sdk._request import ListRequest, M, Page, Request


class _Cursor(Generic[M]):
    """Where a walk through a list stands: the items fetched but not yet handed out, and
    the request for the next page (None once Herald has said ``done``)."""

    def __init__(self, listing: ListRequest[M]) -> None:
        self.listing = listing
        self.items: deque[M] = deque()
        self._iterator: str | None = None
        self._done = False

    def next_request(self) -> Request[Page[M]] | None:
        return None if self._done else self.listing.page(self._iterator)

    def absorb(self, page: Page[M]) -> None:
        self.items.extend(page.data)
        self._iterator = page.iterator
        # No iterator to resume from means the end, whatever ``done`` claims.
        self._done = page.done or page.iterator is None


class SyncPager(Iterator[M]):
    """Iterates over every item of a list, fetching pages as it goes."""

    def __init__(
        self, listing: ListRequest[M], execute: Callable[[Request[Page[M]]], Page[M]]
    ) -> None:
        self._cursor = _Cursor(listing)
        self._execute = execute

    def __iter__(self) -> "SyncPager[M]":
        return self

    def __next__(self) -> M:
        while not self._cursor.items:
            request = self._cursor.next_request()
            if request is None:
                raise StopIteration
            self._cursor.absorb(self._execute(request))
        return self._cursor.items.popleft()


class AsyncPager(AsyncIterator[M]):
    """Iterates (``async for``) over every item of a list, fetching pages as it goes."""

    def __init__(
        self, listing: ListRequest[M], execute: Callable[[Request[Page[M]]], Awaitable[Page[M]]]
    ) -> None:
        self._cursor = _Cursor(listing)
        self._execute = execute

    def __aiter__(self) -> "AsyncPager[M]":
        return self

    async def __anext__(self) -> M:
        while not self._cursor.items:
            request = self._cursor.next_request()
            if request is None:
                raise StopAsyncIteration
            self._cursor.absorb(await self._execute(request))
        return self._cursor.items.popleft()
