"""Which failures are retried, how long the SDK waits, and that a retried publish keeps its
Idempotency-Key (so it can never deliver twice)."""

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from herald_sdk import (
    APIConnectionError,
    APITimeoutError,
    AsyncHerald,
    Herald,
    InternalServerError,
    ServiceUnavailableError,
)
from herald_sdk._retry import RetryPolicy, parse_retry_after
from sdk_samples import message_json, tenant_json

MESSAGES_URL = "http://herald.test/api/v1/tenants/acme/messages"
TENANTS_URL = "http://herald.test/api/v1/tenants"
UNAVAILABLE = httpx.Response(503, json={"code": "service_unavailable", "detail": "db down"})


def test_publish_answered_503_then_202_is_retried_with_the_same_idempotency_key(
    herald: Herald, respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # Given Herald is unavailable once, then accepts the message
    route = respx_mock.post(MESSAGES_URL).mock(
        side_effect=[UNAVAILABLE, httpx.Response(202, json=message_json())]
    )

    # When publishing once
    message = herald.messages.publish("acme", "invoice.paid", {"invoice": "in_1"})

    # Then the SDK sent it twice, with one key, and returns the new message
    first, second = (call.request for call in route.calls)
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert len(first.headers["idempotency-key"]) == 36  # a uuid4
    assert first.content == second.content
    assert message.id == "msg_01"
    assert message.duplicate is False
    assert len(sleeps) == 1


async def test_publish_answered_503_then_202_is_retried_with_the_same_idempotency_key_async(
    async_herald: AsyncHerald, respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = respx_mock.post(MESSAGES_URL).mock(
        side_effect=[UNAVAILABLE, httpx.Response(202, json=message_json())]
    )

    message = await async_herald.messages.publish("acme", "invoice.paid", {"invoice": "in_1"})

    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert route.call_count == 2
    assert len(keys) == 1
    assert message.id == "msg_01"


def test_each_publish_gets_its_own_key_unless_one_is_given(
    herald: Herald, respx_mock: respx.MockRouter
) -> None:
    # Given Herald accepts everything
    route = respx_mock.post(MESSAGES_URL).respond(202, json=message_json())

    # When publishing twice without a key, then twice with one
    herald.messages.publish("acme", "invoice.paid", {})
    herald.messages.publish("acme", "invoice.paid", {})
    herald.messages.publish("acme", "invoice.paid", {}, idempotency_key="order-7")
    herald.messages.publish("acme", "invoice.paid", {}, idempotency_key="order-7")

    # Then the generated keys differ and the given one is used as is
    keys = [call.request.headers["idempotency-key"] for call in route.calls]
    assert keys[0] != keys[1]
    assert keys[2:] == ["order-7", "order-7"]


def test_a_duplicate_publish_is_reported_as_such(
    herald: Herald, respx_mock: respx.MockRouter
) -> None:
    # Given Herald has seen this event id (200 with the first message)
    respx_mock.post(MESSAGES_URL).respond(200, json=message_json(event_id="evt_1"))

    message = herald.messages.publish("acme", "invoice.paid", {}, event_id="evt_1")

    assert message.duplicate is True
    assert message.event_id == "evt_1"


@pytest.mark.parametrize(
    ("header", "expected_s"),
    [("3", 3.0), ("0", 0.0), ("1.5", 1.5), ("86400", 60.0)],  # capped at a minute
)
def test_retry_after_seconds_are_honoured_and_capped(
    herald: Herald,
    respx_mock: respx.MockRouter,
    sleeps: list[float],
    header: str,
    expected_s: float,
) -> None:
    # Given a 429 with Retry-After, then success
    respx_mock.get(TENANTS_URL).mock(
        side_effect=[
            httpx.Response(
                429, json={"code": "throttled", "detail": "x"}, headers={"Retry-After": header}
            ),
            httpx.Response(200, json={"data": [], "iterator": None, "done": True}),
        ]
    )

    # When listing
    assert list(herald.tenants.list()) == []

    # Then the SDK waited what Herald asked (within the cap)
    assert sleeps == [expected_s]


async def test_retry_after_as_an_http_date_is_honoured_async(
    async_herald: AsyncHerald, respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # Given a 503 asking to come back in about 20 s, as a date
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    respx_mock.get(TENANTS_URL + "/acme").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": when}),
            httpx.Response(404, json={"code": "not_found", "detail": "gone"}),
        ]
    )

    # When getting
    with pytest.raises(Exception, match="gone"):
        await async_herald.tenants.get("acme")

    # Then the wait matched the date (to the second it was formatted with)
    [delay_s] = sleeps
    assert 18.0 <= delay_s <= 20.0


def test_backoff_without_retry_after_grows_exponentially_with_jitter(
    respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # Given Herald stays unavailable
    route = respx_mock.get(TENANTS_URL + "/acme").mock(return_value=UNAVAILABLE)

    # When a client with 4 retries asks
    client = Herald(api_key="k", base_url="http://herald.test", max_retries=4)
    with client, pytest.raises(ServiceUnavailableError):
        client.tenants.get("acme")

    # Then it tried 5 times, waiting at most 0.5, 1, 2, 4 s (full jitter: from 0)
    assert route.call_count == 5
    assert len(sleeps) == 4
    for retry, delay_s in enumerate(sleeps):
        assert 0.0 <= delay_s <= 0.5 * 2**retry


def test_max_retries_zero_sends_once(respx_mock: respx.MockRouter, sleeps: list[float]) -> None:
    route = respx_mock.post(MESSAGES_URL).mock(return_value=UNAVAILABLE)

    client = Herald(api_key="k", base_url="http://herald.test", max_retries=0)
    with client, pytest.raises(ServiceUnavailableError):
        client.messages.publish("acme", "invoice.paid", {})

    assert route.call_count == 1
    assert sleeps == []


def test_a_timeout_surfaces_as_api_timeout_error_after_the_retries(
    herald: Herald, respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # Given Herald never answers in time
    route = respx_mock.get(TENANTS_URL + "/acme").mock(side_effect=httpx.ReadTimeout)

    # When getting (a GET is idempotent, so it is retried)
    with pytest.raises(APITimeoutError) as caught:
        herald.tenants.get("acme")

    # Then the SDK's own error comes out, after 1 + 2 tries
    assert route.call_count == 3
    assert caught.value.code == "timeout"
    assert caught.value.status is None
    assert isinstance(caught.value, APIConnectionError)


async def test_a_timeout_surfaces_as_api_timeout_error_async(
    async_herald: AsyncHerald, respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    respx_mock.post(MESSAGES_URL).mock(side_effect=httpx.ReadTimeout)

    with pytest.raises(APITimeoutError):
        await async_herald.messages.publish("acme", "invoice.paid", {})


async def test_a_real_timeout_against_a_silent_server_async(sleeps: list[float]) -> None:
    # Given a server that accepts connections and never answers
    writers: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncHerald(
            api_key="k", base_url=f"http://127.0.0.1:{port}", timeout_s=0.2
        ) as client:
            # When calling it, then the SDK gives up in time, with its own error
            with pytest.raises(APITimeoutError):
                await client.project.get()
    finally:
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()
    assert len(sleeps) == 2


def test_a_create_that_timed_out_is_not_sent_again(
    herald: Herald, respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # Given Herald may have created the tenant before the answer was lost
    route = respx_mock.post(TENANTS_URL).mock(side_effect=httpx.ReadTimeout)

    # When creating, then the SDK does not risk a second tenant
    with pytest.raises(APITimeoutError):
        herald.tenants.create("Acme")
    assert route.call_count == 1


def test_a_create_that_could_not_connect_is_sent_again(
    herald: Herald, respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # Given the first connection is refused, so nothing reached Herald
    route = respx_mock.post(TENANTS_URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(201, json=tenant_json())]
    )

    tenant = herald.tenants.create("Acme")

    assert route.call_count == 2
    assert tenant.uid == "acme"


def test_a_502_is_retried_for_reads_only(
    herald: Herald, respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # Given a proxy answering 502
    gets = respx_mock.get(TENANTS_URL + "/acme").respond(502)
    posts = respx_mock.post(TENANTS_URL).respond(502)

    # When reading and creating
    with pytest.raises(InternalServerError):
        herald.tenants.get("acme")
    with pytest.raises(InternalServerError):
        herald.tenants.create("Acme")

    # Then only the read was tried again
    assert gets.call_count == 3
    assert posts.call_count == 1


def test_connection_refused_is_api_connection_error() -> None:
    # Given nothing listens on the port
    client = Herald(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    # When calling, then the SDK's connection error comes out
    with client, pytest.raises(APIConnectionError) as caught:
        client.project.get()
    assert caught.value.code == "connection_error"
    assert not isinstance(caught.value, APITimeoutError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("soon", None), ("5", 5.0), ("-3", 0.0), ("nan", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now=now) == 0.0


def test_policy_delays_are_capped() -> None:
    policy = RetryPolicy(max_retries=20, initial_delay_s=0.5, max_delay_s=8.0)
    assert all(policy.delay_s(retry) <= 8.0 for retry in range(20))
    assert policy.delay_s(3, retry_after_s=3600) == policy.max_retry_after_s
