"""A real webhook receiver for tests: aiohttp on 127.0.0.1, in a thread with its own loop.

It works the same from sync and async tests. Every request is recorded; each path can be
scripted with a queue of behaviours, then a default::

    with Receiver() as receiver:                        # or the `receiver` fixture
        receiver.script("/flaky", Reply(500), Reply(500), then=Reply(200))
        receiver.script("/slow", Hang())                 # released at shutdown
        post(receiver.url("/flaky"))
        [request] = receiver.wait_for(1)

Behaviours: ``Reply`` (any status, headers, body, NUL and invalid UTF-8 included;
``redirect()`` builds one), ``Hang`` (answer only after ``seconds`` or at shutdown),
``CloseMidResponse`` (promise a body, send part of it, drop the connection), ``HugeBody``
(stream a large body), ``EndlessBody`` (stream a chunked body forever), ``Drip`` (one byte
of body at a time, forever), ``HugeHeaders`` (a head of any size, in one line or many),
``RawResponse`` (any bytes on the wire, HTTP or not). The streaming behaviours record how
they ended (``stream_ends``): a client that hangs up early is seen there.
Register the fixture with ``pytest_plugins = ["tests.receivers"]`` in tests/conftest.py.
"""

import asyncio
import contextlib
import itertools
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import NoReturn, TypeVar

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 5.0
SHUTDOWN_TIMEOUT_S = 5.0
STREAM_CHUNK_BYTES = 65536
# A header line's bytes besides its value: "X-Pad-00000: " and CRLF.
HEADER_LINE_OVERHEAD_BYTES = 15


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Answer 503 only after ``seconds``; shutdown releases it at once."""

    seconds: float = 30.0


@dataclass(frozen=True)
class CloseMidResponse:
    """Send the head and ``sent_bytes`` of a ``declared_bytes`` body, then drop the socket."""

    status: int = 200
    sent_bytes: int = 100
    declared_bytes: int = 10_000


@dataclass(frozen=True)
class HugeBody:
    """Stream ``size_bytes`` of body in chunks (stops quietly when the client hangs up)."""

    size_bytes: int = 1024 * 1024
    status: int = 200


@dataclass(frozen=True)
class EndlessBody:
    """Stream a chunked body that never ends (until the client hangs up or shutdown)."""

    status: int = 200


@dataclass(frozen=True)
class Drip:
    """Send the head, then one byte of chunked body every ``interval_s``, forever."""

    interval_s: float = 0.05
    status: int = 200


@dataclass(frozen=True)
class HugeHeaders:
    """Answer with about ``size_bytes`` of extra headers spread over ``lines`` lines."""

    size_bytes: int = 100_000
    lines: int = 1
    status: int = 200


@dataclass(frozen=True)
class RawResponse:
    """Write ``data`` to the socket as the whole answer, unchecked, then close it."""

    data: bytes


Behaviour = (
    Reply | Hang | CloseMidResponse | HugeBody | EndlessBody | Drip | HugeHeaders | RawResponse
)


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status=status, body=b"", headers={"Location": location})


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query_string: str
    headers: CIMultiDictProxy[str]
    body: bytes
    received_at: float  # time.time()
    received_monotonic: float


@dataclass(frozen=True)
class StreamEnd:
    """How a streamed answer to ``path`` ended: ``sent_bytes`` of body written, and
    ``hung_up`` when the client closed the connection before the stream's own end."""

    path: str
    sent_bytes: int
    hung_up: bool


Recorded = TypeVar("Recorded", ReceivedRequest, StreamEnd)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


class Receiver:
    """An HTTP server on 127.0.0.1 at a free port; a context manager (start/stop)."""

    def __init__(self, default: Behaviour | None = None) -> None:
        self._default: Behaviour = default or Reply()
        self._scripts: dict[str, deque[Behaviour]] = defaultdict(deque)
        self._path_defaults: dict[str, Behaviour] = {}
        self._requests: list[ReceivedRequest] = []
        self._stream_ends: list[StreamEnd] = []
        self._arrived = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.port = 0

    # -- programming ---------------------------------------------------------------
    def script(self, path: str, *behaviours: Behaviour, then: Behaviour | None = None) -> None:
        """Answer ``path`` with ``behaviours`` in order, then with ``then`` (or the default)."""
        with self._arrived:
            self._scripts[path].extend(behaviours)
            if then is not None:
                self._path_defaults[path] = then

    def set_default(self, behaviour: Behaviour) -> None:
        """How every path without a script of its own is answered."""
        with self._arrived:
            self._default = behaviour

    # -- observing -----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._arrived:
            return list(self._requests)

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.path == path]

    @property
    def stream_ends(self) -> list[StreamEnd]:
        with self._arrived:
            return list(self._stream_ends)

    def wait_for(
        self, n: int, timeout_s: float = 5.0, path: str | None = None
    ) -> list[ReceivedRequest]:
        """Block until ``n`` requests (to ``path``, if given) arrived; AssertionError if not."""
        return self._wait_for(self._requests, "requests", n, timeout_s, path)

    def wait_for_stream_ends(
        self, n: int, timeout_s: float = 5.0, path: str | None = None
    ) -> list[StreamEnd]:
        """Block until ``n`` streamed answers (to ``path``, if given) ended; AssertionError
        if not."""
        return self._wait_for(self._stream_ends, "stream ends", n, timeout_s, path)

    def _wait_for(
        self, records: list[Recorded], what: str, n: int, timeout_s: float, path: str | None
    ) -> list[Recorded]:
        def matching() -> list[Recorded]:
            return [r for r in records if path is None or r.path == path]

        with self._arrived:
            if not self._arrived.wait_for(lambda: len(matching()) >= n, timeout_s):
                raise AssertionError(f"{len(matching())} of {n} {what} within {timeout_s} s")
            return matching()

    async def wait_for_async(
        self, n: int, timeout_s: float = 5.0, path: str | None = None
    ) -> list[ReceivedRequest]:
        """``wait_for`` without blocking the caller's event loop."""
        return await asyncio.to_thread(self.wait_for, n, timeout_s, path)

    def clear(self) -> None:
        with self._arrived:
            self._requests.clear()
            self._stream_ends.clear()

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> "Receiver":
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        self.port = future.result(STARTUP_TIMEOUT_S)
        return self

    def stop(self) -> None:
        """Release hanging handlers, close the server and its loop, join the thread."""
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            future.result(SHUTDOWN_TIMEOUT_S + 5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(SHUTDOWN_TIMEOUT_S)
        if not self._loop.is_closed() and not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _serve(self) -> int:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S, handle_signals=False
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        port: int = self._runner.addresses[0][1]
        return port

    async def _shutdown(self) -> None:
        assert self._stopping is not None and self._runner is not None
        self._stopping.set()
        await self._runner.cleanup()
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await self._loop.shutdown_asyncgens()

    # -- serving -------------------------------------------------------------------
    def _record_and_pick(self, request: web.Request, body: bytes) -> Behaviour:
        with self._arrived:
            self._requests.append(
                ReceivedRequest(
                    method=request.method,
                    path=request.path,
                    query_string=request.query_string,
                    headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                    body=body,
                    received_at=time.time(),
                    received_monotonic=time.monotonic(),
                )
            )
            self._arrived.notify_all()
            queue = self._scripts.get(request.path)
            if queue:
                return queue.popleft()
            return self._path_defaults.get(request.path, self._default)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        behaviour = self._record_and_pick(request, await request.read())
        if isinstance(behaviour, Reply):
            return web.Response(
                status=behaviour.status, body=behaviour.body, headers=dict(behaviour.headers)
            )
        if isinstance(behaviour, Hang):
            return await self._hang(behaviour)
        if isinstance(behaviour, CloseMidResponse):
            return await self._close_mid_response(request, behaviour)
        if isinstance(behaviour, HugeHeaders):
            return _huge_headers(behaviour)
        if isinstance(behaviour, RawResponse):
            return _raw_response(request, behaviour)
        return await self._stream(request, behaviour)

    async def _hang(self, behaviour: Hang) -> web.Response:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), behaviour.seconds)
        return web.Response(status=503, body=b"hung")

    async def _close_mid_response(
        self, request: web.Request, behaviour: CloseMidResponse
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=behaviour.status)
        response.content_length = behaviour.declared_bytes
        await response.prepare(request)
        await response.write(b"x" * behaviour.sent_bytes)
        transport = request.transport
        assert transport is not None
        transport.abort()
        raise asyncio.CancelledError  # aiohttp treats a cancelled handler as a lost client

    async def _stream(
        self, request: web.Request, behaviour: HugeBody | EndlessBody | Drip
    ) -> web.StreamResponse:
        """Write the behaviour's chunks until they end, the client hangs up (what the
        tests want to see: it is recorded, not raised) or the receiver stops."""
        assert self._stopping is not None
        response = web.StreamResponse(status=behaviour.status)
        if isinstance(behaviour, HugeBody):
            response.content_length = behaviour.size_bytes
        await response.prepare(request)
        interval_s = behaviour.interval_s if isinstance(behaviour, Drip) else 0.0
        sent_bytes, hung_up = 0, False
        try:
            for chunk in _chunks(behaviour):
                if self._stopping.is_set():
                    break
                await response.write(chunk)
                sent_bytes += len(chunk)
                await asyncio.sleep(interval_s)
            else:
                await response.write_eof()
        except ConnectionError:
            hung_up = True
        with self._arrived:
            self._stream_ends.append(StreamEnd(request.path, sent_bytes, hung_up))
            self._arrived.notify_all()
        return response


def _chunks(behaviour: HugeBody | EndlessBody | Drip) -> Iterable[bytes]:
    if isinstance(behaviour, Drip):
        return itertools.repeat(b".")
    chunk = b"y" * STREAM_CHUNK_BYTES
    if isinstance(behaviour, EndlessBody):
        return itertools.repeat(chunk)
    whole, rest = divmod(behaviour.size_bytes, STREAM_CHUNK_BYTES)
    return [*itertools.repeat(chunk, whole), *([chunk[:rest]] if rest else [])]


def _huge_headers(behaviour: HugeHeaders) -> web.Response:
    line_bytes = behaviour.size_bytes // behaviour.lines
    value = "h" * max(1, line_bytes - HEADER_LINE_OVERHEAD_BYTES)
    headers = {f"X-Pad-{number:05d}": value for number in range(behaviour.lines)}
    return web.Response(status=behaviour.status, body=b"", headers=headers)


def _raw_response(request: web.Request, behaviour: RawResponse) -> NoReturn:
    transport = request.transport
    assert transport is not None
    transport.write(behaviour.data)
    transport.close()  # after the buffered data is sent
    raise asyncio.CancelledError  # aiohttp treats a cancelled handler as a lost client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started ``Receiver``, stopped after the test."""
    with Receiver() as running:
        yield running
