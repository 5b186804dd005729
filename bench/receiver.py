"""A fast webhook receiver for the benchmark: a raw asyncio HTTP/1.1 server (uvloop when
installed) that answers every POST ``200`` with an empty body, in its own process.

It counts what arrives by the first path segment (``/f1/0`` counts under ``f1``), the
distinct ``(webhook-id, path)`` pairs among them (so duplicates show), and each arrival's
``time.time()`` with, for bodies that carry ``"sent_at"`` (a ``time.time()`` stamped by
the publisher on the same machine), that stamp: the latency is the difference.

Control, on the same port: ``GET /_stats`` → ``{"<segment>": {"count", "unique"}}``;
``GET /_latencies/<segment>`` → ``[ms, …]``; ``GET /_arrivals/<segment>`` →
``[[received_s, sent_at_s or null], …]`` in arrival order.

    python -m bench.receiver --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast

from app.eventloop import install_uvloop

MAX_HEAD_BYTES = 65_536
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
BAD = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


@dataclass
class Tally:
    """What arrived under one path segment."""

    count: int = 0
    seen: set[tuple[str, str]] = field(default_factory=set)
    # One (received_s, sent_at_s | None) pair per request, in arrival order.
    arrivals: list[tuple[float, float | None]] = field(default_factory=list)


class Counts:
    def __init__(self) -> None:
        self.by_segment: dict[str, Tally] = defaultdict(Tally)

    def record(self, path: str, webhook_id: str | None, body: bytes) -> None:
        received = time.time()
        tally = self.by_segment[path.split("/", 2)[1] if path.count("/") else path]
        tally.count += 1
        if webhook_id is not None:
            tally.seen.add((webhook_id, path))
        sent_at = json.loads(body).get("sent_at") if b'"sent_at"' in body else None
        tally.arrivals.append((received, sent_at if isinstance(sent_at, float | int) else None))

    def stats(self) -> bytes:
        return json.dumps(
            {name: {"count": t.count, "unique": len(t.seen)} for name, t in self.by_segment.items()}
        ).encode()

    def latencies(self, segment: str) -> bytes:
        """Publish→received milliseconds of the stamped arrivals under ``segment``."""
        arrivals = self._arrivals(segment)
        return json.dumps(
            [(at - sent) * 1000.0 for at, sent in arrivals if sent is not None]
        ).encode()

    def arrivals(self, segment: str) -> bytes:
        return json.dumps(self._arrivals(segment)).encode()

    def _arrivals(self, segment: str) -> list[tuple[float, float | None]]:
        tally = self.by_segment.get(segment)
        return tally.arrivals if tally else []


class HttpProtocol(asyncio.Protocol):
    """Keep-alive HTTP/1.1 with Content-Length bodies (what aiohttp sends); pipelining ok."""

    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and self._handle_one():
            pass

    def _handle_one(self) -> bool:
        """Answer one complete request from the buffer; False when more bytes are needed."""
        assert self.transport is not None
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                self._refuse()
            return False
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            self._refuse()
            return False
        if len(parts) != 3 or length < 0:
            self._refuse()
            return False
        if len(self.buffer) < end + 4 + length:
            return False
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        self.transport.write(self._answer(parts[0], parts[1], headers.get("webhook-id"), body))
        return True

    def _answer(self, method: str, path: str, webhook_id: str | None, body: bytes) -> bytes:
        if method == "GET" and path == "/_stats":
            return _json_reply(self.counts.stats())
        if method == "GET" and path.startswith("/_latencies/"):
            return _json_reply(self.counts.latencies(path.removeprefix("/_latencies/")))
        if method == "GET" and path.startswith("/_arrivals/"):
            return _json_reply(self.counts.arrivals(path.removeprefix("/_arrivals/")))
        self.counts.record(path, webhook_id, body)
        return OK

    def _refuse(self) -> None:
        assert self.transport is not None
        self.transport.write(BAD)
        self.transport.close()
        self.transport = None


def _json_reply(body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def serve(port: int) -> None:
    """Serve on 127.0.0.1:``port`` until the process is terminated."""
    counts = Counts()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpProtocol(counts), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    install_uvloop()
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
