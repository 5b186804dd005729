"""The outbound client against real receivers on 127.0.0.1.

Only loopback is ever connected to; other destinations are judged by the guard alone,
and names are answered by a fake resolver behind aiohttp's resolver seam. Hostile
receivers (NUL bytes, invalid UTF-8, endless or dripping bodies, huge heads, bytes that
are not HTTP) must each yield an attempt PostgreSQL can store.
"""

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import asyncpg
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from app.delivery.client import (
    RESPONSE_BODY_LIMIT_BYTES,
    AttemptResult,
    BlockedAddress,
    GuardedResolver,
    create_session,
    parse_retry_after,
    post_webhook,
    redact,
    storable_text,
)
from app.delivery.ssrf import NetworkPolicy
from tests.receivers import (
    Behaviour,
    CloseMidResponse,
    Drip,
    EndlessBody,
    Hang,
    HugeBody,
    HugeHeaders,
    RawResponse,
    Receiver,
    Reply,
    closed_port,
    redirect,
)
from tests.services import PostgresServer

LOOPBACK = NetworkPolicy.from_cidrs(["127.0.0.0/8", "::1/128"])
DEFAULT = NetworkPolicy()
BODY = b'{"type":"invoice.paid","data":{"id":1}}'
HEADERS = {"content-type": "application/json", "webhook-id": "msg_1"}
LIMIT = RESPONSE_BODY_LIMIT_BYTES
# Generous for a loaded 2-core machine, and far below the 30 s request timeout the
# endless-body tests use: an attempt that drained the body would hit that timeout.
PROMPT_S = 10.0
HEAD_TOO_BIG = "the response headers exceed aiohttp's limits"
REDIRECT_TO_BAD_BYTES = b"HTTP/1.1 302 Found\r\nLocation: /\xff\xfe\xed\xa0\x80x\r\n"


class FakeResolver(AbstractResolver):
    """Answers names from a table; an unknown name fails like NXDOMAIN."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.answers[host]
        ]

    async def close(self) -> None:
        pass


async def _post(
    url: str,
    policy: NetworkPolicy = LOOPBACK,
    timeout_s: float = 5.0,
    answers: dict[str, list[str]] | None = None,
) -> AttemptResult:
    resolver = FakeResolver(answers) if answers is not None else None
    async with create_session(policy, inner_resolver=resolver) as session:
        return await post_webhook(session, url, BODY, HEADERS, timeout_s, policy)


async def test_2xx_is_a_success_and_the_exact_body_arrives(receiver: Receiver) -> None:
    # Given a receiver answering 204
    receiver.script("/hook", Reply(204, b""))
    # When a webhook is posted
    result = await _post(receiver.url("/hook"))
    # Then the attempt is a success and the receiver got the bytes and headers
    assert (result.ok, result.status_code, result.error_kind) == (True, 204, None)
    [request] = receiver.requests
    assert (request.method, request.body) == ("POST", BODY)
    assert request.headers["webhook-id"] == "msg_1"
    assert result.duration_ms >= 0


async def test_500_is_an_http_status_failure_with_its_body(receiver: Receiver) -> None:
    receiver.script("/hook", Reply(500, b"boom"))
    result = await _post(receiver.url("/hook"))
    assert (result.ok, result.status_code, result.error_kind) == (False, 500, "http_status")
    assert (result.body, result.error, result.retry_after_s) == ("boom", "HTTP 500", None)


async def test_redirect_is_not_followed(receiver: Receiver) -> None:
    # Given a receiver redirecting to another path on 127.0.0.1
    receiver.script("/hook", redirect(receiver.url("/elsewhere"), status=307))
    # When posted
    result = await _post(receiver.url("/hook"))
    # Then the redirect is a failure and its target never hears of it
    assert (result.ok, result.status_code, result.error_kind) == (False, 307, "http_status")
    assert result.error is not None and "not followed" in result.error
    assert [r.path for r in receiver.requests] == ["/hook"]


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_seconds_is_parsed(receiver: Receiver, status: int) -> None:
    receiver.script("/hook", Reply(status, b"slow down", {"Retry-After": "120"}))
    result = await _post(receiver.url("/hook"))
    assert (result.error_kind, result.retry_after_s) == ("http_status", 120.0)


async def test_retry_after_http_date_is_parsed(receiver: Receiver) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    receiver.script("/hook", Reply(429, b"", {"Retry-After": later}))
    result = await _post(receiver.url("/hook"))
    assert result.retry_after_s is not None and 80 <= result.retry_after_s <= 91


async def test_retry_after_is_ignored_on_other_statuses(receiver: Receiver) -> None:
    receiver.script("/hook", Reply(500, b"", {"Retry-After": "5"}))
    assert (await _post(receiver.url("/hook"))).retry_after_s is None


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(" 3600 ") == 3600.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now) == 0.0
    assert parse_retry_after("-5") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_connection_refused_is_a_connect_failure() -> None:
    result = await _post(f"http://127.0.0.1:{closed_port()}/hook")
    assert (result.ok, result.status_code, result.error_kind) == (False, None, "connect")
    assert result.error is not None and "cannot connect to 127.0.0.1" in result.error


async def test_dns_failure_is_a_dns_failure() -> None:
    # The fake resolver fails like NXDOMAIN, so no DNS packet leaves the machine.
    result = await _post("http://webhooks.invalid/hook", answers={})
    assert (result.ok, result.error_kind) == (False, "dns")
    assert result.error == "cannot resolve webhooks.invalid: Name or service not known"


async def test_oversized_response_body_is_cut_at_16_kib(receiver: Receiver) -> None:
    # Given a receiver answering a 5 MB body
    receiver.script("/hook", HugeBody(size_bytes=5 * 1024 * 1024))
    # When posted with a long timeout
    result = await _post(receiver.url("/hook"), timeout_s=30)
    # Then 16 KiB of it is kept, and the attempt did not wait for the rest
    assert (result.ok, result.status_code) == (True, 200)
    assert result.body == "y" * LIMIT and LIMIT == 16 * 1024
    assert result.duration_ms < PROMPT_S * 1000


async def test_endless_body_is_cut_and_its_connection_closed(receiver: Receiver) -> None:
    # Given a receiver streaming a chunked body that never ends
    receiver.script("/hook", EndlessBody(status=500))
    # When posted with a 30 s timeout
    result = await _post(receiver.url("/hook"), timeout_s=30)
    # Then the attempt ends long before the timeout with its status and 16 KiB of body
    assert (result.ok, result.status_code, result.error_kind) == (False, 500, "http_status")
    assert result.body == "y" * LIMIT
    assert result.duration_ms < PROMPT_S * 1000
    # And the client hung up instead of draining the stream
    [end] = receiver.wait_for_stream_ends(1, timeout_s=PROMPT_S)
    assert end.hung_up


async def test_dripping_body_hits_the_total_timeout(receiver: Receiver) -> None:
    # Given a receiver sending its head, then one byte of body every 50 ms forever
    receiver.script("/hook", Drip(interval_s=0.05))
    # When posted with a 1 s timeout
    result = await _post(receiver.url("/hook"), timeout_s=1)
    # Then the attempt times out in about that time, the status it saw recorded
    assert (result.ok, result.status_code, result.error_kind) == (False, 200, "timeout")
    assert result.error == "no complete response within 1 s"
    assert 900 <= result.duration_ms < PROMPT_S * 1000
    assert receiver.wait_for_stream_ends(1, timeout_s=PROMPT_S)[0].hung_up


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        (b"before\x00after\x00", "before\ufffdafter\ufffd"),
        (b"caf\xc3\xa9 \xff\xfe\xc3 end", "caf\u00e9 \ufffd\ufffd\ufffd end"),
        (b"\xed\xa0\x80 surrogate", "\ufffd\ufffd\ufffd surrogate"),
    ],
    ids=["nul", "invalid-utf8", "encoded-surrogate"],
)
async def test_body_is_stored_as_valid_text(receiver: Receiver, body: bytes, stored: str) -> None:
    receiver.script("/hook", Reply(500, body))
    result = await _post(receiver.url("/hook"))
    assert (result.status_code, result.error_kind, result.body) == (500, "http_status", stored)
    assert_storable(result)


async def test_character_split_at_16_kib_is_dropped(receiver: Receiver) -> None:
    # Given a body whose 16 KiB boundary falls inside a 2-byte character
    receiver.script("/hook", Reply(200, b"a" * (LIMIT - 1) + "\u00e9".encode() * 10))
    # Then the kept body ends before that character, with no replacement for its half
    result = await _post(receiver.url("/hook"))
    assert result.body == "a" * (LIMIT - 1)


async def test_redirect_location_with_invalid_utf8_is_stored_as_valid_text(
    receiver: Receiver,
) -> None:
    # aiohttp decodes headers with surrogateescape: bad bytes become lone surrogates.
    receiver.script("/hook", RawResponse(REDIRECT_TO_BAD_BYTES + b"Content-Length: 0\r\n\r\n"))
    result = await _post(receiver.url("/hook"))
    assert (result.status_code, result.error_kind) == (302, "http_status")
    assert result.error == "HTTP 302: redirect to /" + "\ufffd" * 5 + "x not followed"
    assert_storable(result)


@pytest.mark.parametrize(
    "headers",
    [HugeHeaders(size_bytes=100_000, lines=1), HugeHeaders(size_bytes=100_000, lines=1000)],
    ids=["one-100kb-line", "1000-lines"],
)
async def test_huge_response_headers_are_a_connect_failure(
    receiver: Receiver, headers: HugeHeaders
) -> None:
    receiver.script("/hook", headers)
    result = await _post(receiver.url("/hook"))
    assert (result.ok, result.status_code, result.error_kind) == (False, None, "connect")
    assert result.error is not None and result.error.startswith(HEAD_TOO_BIG)
    assert_storable(result)


async def test_100_kb_of_headers_within_aiohttps_limits_is_read(receiver: Receiver) -> None:
    # 20 lines of 5 KB: under aiohttp's 8 190 bytes a line and 128 headers
    receiver.script("/hook", HugeHeaders(size_bytes=100_000, lines=20, status=500))
    result = await _post(receiver.url("/hook"))
    assert (result.status_code, result.error_kind, result.error) == (500, "http_status", "HTTP 500")


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 abc \x00\xff\r\n\r\n",
        b"\x00\xff\xfe not http\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc",
    ],
    ids=["status-line", "garbage", "nul-in-header", "negative-length"],
)
async def test_a_response_that_is_not_http_is_a_connect_failure(
    receiver: Receiver, wire: bytes
) -> None:
    receiver.script("/hook", RawResponse(wire))
    result = await _post(receiver.url("/hook"))
    assert (result.ok, result.status_code, result.error_kind) == (False, None, "connect")
    assert result.error is not None
    assert result.error.startswith("the response is not valid HTTP: ")
    assert_storable(result)


@pytest.mark.services
async def test_hostile_answers_are_accepted_by_a_postgresql_text_column(
    receiver: Receiver, postgres_server: PostgresServer
) -> None:
    # Given the answers of hostile receivers
    hostile: list[Behaviour] = [
        Reply(200, b"\x00" * 100),
        Reply(500, b"\xff\xfe" * LIMIT),
        Reply(200, b"a" * (LIMIT - 1) + "\u20ac".encode() * 10),
        RawResponse(REDIRECT_TO_BAD_BYTES + b"Content-Length: 0\r\n\r\n"),
        RawResponse(b"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\n\r\n"),
        HugeHeaders(size_bytes=100_000),
    ]
    receiver.script("/hook", *hostile)
    results = [await _post(receiver.url("/hook")) for _ in hostile]
    # Then PostgreSQL stores each body and error unchanged
    connection = await asyncpg.connect(postgres_server.dsn, timeout=10)
    try:
        for result in results:
            stored = await connection.fetchrow(
                "SELECT $1::text, $2::text", result.body, result.error
            )
            assert tuple(stored) == (result.body, result.error)
    finally:
        await connection.close()


def test_storable_text_replaces_what_postgresql_refuses() -> None:
    assert storable_text(b"ok") == "ok"
    assert storable_text(b"a\x00b\xffc") == "a\ufffdb\ufffdc"
    assert storable_text("a\x00b\udcffc\ud800") == "a\ufffdb\ufffdc\ufffd"
    assert storable_text("caf\u00e9 \U0001f600") == "caf\u00e9 \U0001f600"
    # A cut prefix loses the character split at its end; an uncut one marks it
    assert storable_text("x\u20ac".encode()[:-1], cut=True) == "x"
    assert storable_text("x\u20ac".encode()[:-1]) == "x\ufffd"
    assert storable_text(b"\xff\xfe", cut=True) == "\ufffd\ufffd"


def assert_storable(result: AttemptResult) -> None:
    """Body and error are text PostgreSQL accepts, and the body is at most 16 KiB."""
    for text in (result.body, result.error or ""):
        assert isinstance(text, str)
        assert "\x00" not in text
        text.encode("utf-8")  # raises for a lone surrogate
    assert len(result.body) <= LIMIT


async def test_receiver_closing_mid_response_is_a_connect_failure(receiver: Receiver) -> None:
    receiver.script("/hook", CloseMidResponse(sent_bytes=100, declared_bytes=10_000))
    result = await _post(receiver.url("/hook"))
    assert (result.ok, result.status_code, result.error_kind) == (False, 200, "connect")
    assert result.error is not None and "mid-response" in result.error


async def test_hanging_receiver_times_out(receiver: Receiver) -> None:
    # Given a receiver that would answer only after 30 s
    receiver.script("/hook", Hang(seconds=30))
    # When posted with a 0.5 s timeout
    started = time.monotonic()
    result = await _post(receiver.url("/hook"), timeout_s=0.5)
    # Then the attempt times out in about that time
    assert (result.ok, result.status_code, result.error_kind) == (False, None, "timeout")
    assert 450 <= result.duration_ms < 3000
    assert time.monotonic() - started < 3
    assert len(receiver.requests) == 1


async def test_tls_to_a_plain_http_port_is_a_tls_failure(receiver: Receiver) -> None:
    result = await _post(receiver.url("/hook").replace("http://", "https://"))
    assert (result.ok, result.error_kind) == (False, "tls")


async def test_loopback_receiver_is_blocked_by_default(receiver: Receiver) -> None:
    result = await _post(receiver.url("/hook"), policy=DEFAULT)
    assert (result.ok, result.status_code, result.error_kind) == (False, None, "blocked")
    assert result.error == "the destination address is in a forbidden network (loopback)"
    assert receiver.requests == []


async def test_loopback_receiver_is_reached_when_allowed(receiver: Receiver) -> None:
    result = await _post(receiver.url("/hook"), policy=NetworkPolicy.from_cidrs(["127.0.0.0/8"]))
    assert result.ok
    assert len(receiver.requests) == 1


async def test_a_passed_destination_check_does_not_open_the_url_to_another_policy(
    receiver: Receiver,
) -> None:
    # Given a URL reached under a policy that allows loopback (its check is now cached)
    url = receiver.url("/cached")
    assert (await _post(url, policy=LOOPBACK)).ok
    # Then under the default policy it is refused, every time
    for _ in range(2):
        assert (await _post(url, policy=DEFAULT)).error_kind == "blocked"
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]", "localhost"]
)
async def test_loopback_spellings_are_blocked_at_attempt_time(
    receiver: Receiver, host: str
) -> None:
    result = await _post(f"http://{host}:{receiver.port}/hook", policy=DEFAULT)
    assert result.error_kind == "blocked"
    assert result.error is not None and "forbidden network" in result.error
    assert "127.0.0.1" not in result.error and "::1" not in result.error
    assert receiver.requests == []


async def test_dns_rebinding_to_loopback_is_blocked(receiver: Receiver) -> None:
    # Given a name that passed creation but now resolves to 127.0.0.1
    answers = {"hooks.rebind.test": ["127.0.0.1"]}
    url = f"http://hooks.rebind.test:{receiver.port}/hook"
    # When an attempt is made, Then the guarded resolver refuses the address
    result = await _post(url, policy=DEFAULT, answers=answers)
    assert result.error_kind == "blocked"
    assert result.error == (
        "hooks.rebind.test resolves to an address in a forbidden network (loopback)"
    )
    assert receiver.requests == []
    # And with loopback allowed the same name reaches the receiver
    assert (await _post(url, policy=LOOPBACK, answers=answers)).ok
    assert receiver.requests[0].headers["Host"] == f"hooks.rebind.test:{receiver.port}"


async def test_guarded_resolver_keeps_only_allowed_addresses() -> None:
    # Given a name answered with one forbidden and one allowed address
    inner = FakeResolver({"mixed.test": ["10.0.0.1", "127.0.0.1"]})
    resolver = GuardedResolver(LOOPBACK, inner)
    # Then only the allowed one is returned
    assert [r["host"] for r in await resolver.resolve("mixed.test", 80)] == ["127.0.0.1"]
    # And with none allowed, BlockedAddress names the first refused range, not its address
    with pytest.raises(BlockedAddress) as refused:
        await GuardedResolver(DEFAULT, inner).resolve("mixed.test", 80)
    assert str(refused.value) == (
        "mixed.test resolves to an address in a forbidden network (private)"
    )
    assert str(refused.value.address) == "10.0.0.1"


async def test_non_http_scheme_is_blocked() -> None:
    result = await _post("file:///etc/passwd")
    assert result.error_kind == "blocked"


async def test_error_text_carries_no_credentials() -> None:
    port = closed_port()
    url = f"http://alice:s3cr3t-pw@127.0.0.1:{port}/hook?token=t0ps3cret"
    for policy in (DEFAULT, LOOPBACK):
        result = await _post(url, policy=policy)
        assert result.error is not None
        assert "s3cr3t-pw" not in result.error and "t0ps3cret" not in result.error
    assert redact(f"failed {url}", url) == f"failed http://***:***@127.0.0.1:{port}/hook?***"
