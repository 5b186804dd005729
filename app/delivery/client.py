"""The outbound HTTP client: one guarded aiohttp session per worker process.

Why aiohttp and not httpx: on this machine aiohttp posts ~5 800 req/s at 64 concurrent
requests where one ``httpx.AsyncClient`` collapses to ~230 (see MACHINE-NOTES).

- ``create_session(policy)`` builds the pooled session. Its connector resolves names
  through ``GuardedResolver``, so every connection, including each one after a DNS
  change (rebinding), goes only to an address the ``NetworkPolicy`` allows.
- ``post_webhook(...)`` sends one attempt and returns an ``AttemptResult``; it never
  raises for a network problem. Literal-IP hosts skip aiohttp's resolver, so it checks
  them itself before sending.

Errors: ``BlockedAddress`` (an ``aiohttp.ClientConnectionError``) is raised by the
resolver when every address of a name is forbidden; ``post_webhook`` reports it as
``error_kind="blocked"``.

Whatever a receiver sends is hostile input: at most 16 KiB of its body is read, and every
text it controls (body, headers, parser and exception messages) reaches an
``AttemptResult`` only through ``storable_text``, so any attempt can be recorded.
"""

import codecs
import functools
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.http_exceptions import LineTooLong
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from app.delivery.ssrf import (
    IPAddress,
    NetworkPolicy,
    UnsafeURL,
    parse_endpoint_url,
    parse_ip_literal,
    refusal_message,
)

RESPONSE_BODY_LIMIT_BYTES = 16 * 1024
# URLs whose destination check passed, per policy: parsing one is ~10 % of a worker's CPU.
SAFE_DESTINATIONS_CACHED = 4096
RETRY_AFTER_STATUSES = frozenset({429, 503})
ErrorKind = Literal["timeout", "connect", "dns", "tls", "http_status", "blocked"]
REPLACEMENT_CHARACTER = "\ufffd"
# What a PostgreSQL text column (or asyncpg's UTF-8 encoding of a str) refuses: NUL, and
# the lone surrogates that aiohttp's header decoding (surrogateescape) makes of bad bytes.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# How aiohttp's parser words a head with more headers than its limit (128).
_TOO_MANY_HEADERS = "Too many headers"


class BlockedAddress(aiohttp.ClientConnectionError):
    """A destination the ``NetworkPolicy`` forbids; the message names the range (and the
    name resolved), the address is kept in ``address`` for Herald's own logs only."""

    def __init__(self, address: IPAddress, reason: str, host: str | None = None) -> None:
        super().__init__(refusal_message(reason, host))
        self.address = address
        self.reason = reason


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` (default ``ThreadedResolver``) and drops forbidden addresses.

    Raises ``BlockedAddress`` when no allowed address remains. aiohttp connects only to
    the addresses a resolver returns, so this checks the address actually connected to.
    """

    def __init__(self, policy: NetworkPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        refused: BlockedAddress | None = None
        for result in results:
            address = parse_ip_literal(result["host"])
            reason = "not an IP address" if address is None else self._policy.verdict(address)
            if reason is None:
                allowed.append(result)
            elif refused is None and address is not None:
                refused = BlockedAddress(address, reason, host)
        if allowed:
            return allowed
        if refused is not None:
            raise refused
        raise OSError(f"{host} resolved to no usable address")

    async def close(self) -> None:
        await self._inner.close()


def create_session(
    policy: NetworkPolicy,
    *,
    limit: int = 256,
    limit_per_host: int = 32,
    ttl_dns_cache_s: int = 10,
    inner_resolver: AbstractResolver | None = None,
) -> aiohttp.ClientSession:
    """The pooled session a worker process posts webhooks with; call inside its event loop.

    No cookies, no proxy from the environment, no raising on status; the caller closes it.
    """
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(policy, inner_resolver),
        limit=limit,
        limit_per_host=limit_per_host,
        ttl_dns_cache=ttl_dns_cache_s,
    )
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
    )


@dataclass(frozen=True)
class AttemptResult:
    """The outcome of one POST: what the attempt row records.

    ``body`` (at most ``RESPONSE_BODY_LIMIT_BYTES`` characters) and ``error`` are
    ``storable_text``.
    """

    ok: bool
    status_code: int | None
    body: str
    duration_ms: int
    error_kind: ErrorKind | None
    error: str | None
    retry_after_s: float | None
    started_at: datetime | None = None  # set by ``send``: when the attempt began


async def post_webhook(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    policy: NetworkPolicy,
) -> AttemptResult:
    """POST ``body`` to ``url``; never raises for network problems, never follows redirects.

    ``ok`` for a 2xx. At most the first 16 KiB of the response body is read (the
    connection is then closed, not drained) and kept as ``storable_text``, as is the error.
    ``retry_after_s`` is the uncapped ``Retry-After`` of a 429 or 503.
    """
    started = time.monotonic()
    status: int | None = None
    try:
        check_destination(url, policy)
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with session.post(
            url, data=body, headers=dict(headers), allow_redirects=False, timeout=timeout
        ) as response:
            status = response.status
            raw = await _read_capped(response, RESPONSE_BODY_LIMIT_BYTES)
            retry_after = response.headers.get("Retry-After")
            location = response.headers.get("Location")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        kind, message = classify_error(exc, timeout_s)
        return AttemptResult(
            ok=False,
            status_code=status,
            body="",
            duration_ms=_elapsed_ms(started),
            error_kind=kind,
            error=storable_text(redact(message, url)),
            retry_after_s=None,
        )
    ok = 200 <= status < 300
    return AttemptResult(
        ok=ok,
        status_code=status,
        # A body of exactly the limit is taken as cut: at worst a broken last character of
        # a complete body is dropped rather than replaced.
        body=storable_text(raw, cut=len(raw) == RESPONSE_BODY_LIMIT_BYTES),
        duration_ms=_elapsed_ms(started),
        error_kind=None if ok else "http_status",
        error=None if ok else storable_text(_status_error(status, location)),
        retry_after_s=parse_retry_after(retry_after) if status in RETRY_AFTER_STATUSES else None,
    )


@functools.lru_cache(maxsize=SAFE_DESTINATIONS_CACHED)
def check_destination(url: str, policy: NetworkPolicy) -> None:
    """Raise ``UnsafeURL``/``BlockedAddress`` for a non-http(s) URL or a forbidden literal IP.

    A pure function of its arguments (no DNS: names are checked by ``GuardedResolver`` at
    each connection), so a passed check is cached; a refusal raises, and is not cached.
    """
    target = parse_endpoint_url(url)
    # aiohttp parses with yarl: check its reading of the host too, in case they differ.
    literals = {target.address, parse_ip_literal(URL(url).raw_host or "")}
    for address in literals - {None}:
        assert address is not None
        reason = policy.verdict(address)
        if reason is not None:
            raise BlockedAddress(address, reason)


def storable_text(raw: bytes | str, *, cut: bool = False) -> str:
    """``raw`` as text any PostgreSQL ``text`` column accepts, whatever a receiver sent.

    Bytes are decoded as UTF-8 with each invalid sequence replaced by U+FFFD; NUL and
    lone surrogates become U+FFFD too. The result never has more characters than ``raw``
    has bytes (or characters). ``cut`` says ``raw`` is a prefix cut at an arbitrary byte:
    a character split by the cut is dropped, not replaced.
    """
    if isinstance(raw, str):
        return _UNSTORABLE.sub(REPLACEMENT_CHARACTER, raw)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    # Decoded bytes hold no surrogates: only NUL is left to replace.
    return decoder.decode(raw, final=not cut).replace("\x00", REPLACEMENT_CHARACTER)


async def _read_capped(response: aiohttp.ClientResponse, limit_bytes: int) -> bytes:
    received = bytearray()
    while len(received) < limit_bytes:
        chunk = await response.content.read(limit_bytes - len(received))
        if not chunk:
            break
        received += chunk
    return bytes(received)


def classify_error(exc: BaseException, timeout_s: float) -> tuple[ErrorKind, str]:
    """Map an exception raised while posting to its error kind and a sentence."""
    if isinstance(exc, BlockedAddress | UnsafeURL):
        return "blocked", str(exc)
    if isinstance(exc, TimeoutError):
        return "timeout", f"no complete response within {timeout_s:g} s"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns", f"cannot resolve {exc.host}: {_os_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "tls", f"TLS with {exc.host}:{exc.port} failed: {_os_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect", f"cannot connect to {exc.host}:{exc.port}: {_os_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connect", "the server closed the connection without a complete response"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "connect", f"the connection broke mid-response: {exc}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "connect", _unreadable_head(exc)
    if isinstance(exc, OSError) and "SSL" in type(exc).__name__:
        return "tls", f"TLS failed: {exc}"
    return "connect", f"{type(exc).__name__}: {exc}"


def _unreadable_head(exc: aiohttp.ClientResponseError) -> str:
    # With raise_for_status off, aiohttp raises ClientResponseError only when its parser
    # refuses the status line or headers; the parser's own error is in the cause chain.
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, LineTooLong):
        cause = cause.__cause__
    if cause is not None or exc.message.startswith(_TOO_MANY_HEADERS):
        return f"the response headers exceed aiohttp's limits: {exc.message}"
    return f"the response is not valid HTTP: {exc.message}"


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


def _status_error(status: int, location: str | None) -> str:
    if 300 <= status < 400:
        return f"HTTP {status}: redirect to {location or '(no Location)'} not followed"
    return f"HTTP {status}"


def redact(text: str, url: str) -> str:
    """``text`` without the URL's user info and query string (they may carry credentials)."""
    try:
        parsed = URL(url)
    except ValueError:
        return text
    secrets = (parsed.raw_user, parsed.raw_password, parsed.user, parsed.password)
    for secret in (*secrets, parsed.raw_query_string, parsed.query_string):
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delay-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
