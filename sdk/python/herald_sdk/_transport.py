"""Sending one request with retries, written once for sync and async.

``exchange`` is the whole policy as a generator that does no I/O: it yields the
``httpx.Request`` to send (and is sent back the response or the ``httpx.RequestError``)
or a ``Sleep`` (and is sent back None), and finally returns the 2xx response or raises
the SDK's error. ``send_sync`` and ``send_async`` only carry out its steps.
"""

import asyncio
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from herald_sdk._retry import RetryPolicy, parse_retry_after
from herald_sdk.errors import (
    APIConnectionError,
    APITimeoutError,
    HeraldError,
    error_from_response,
)


@dataclass(frozen=True)
class Sleep:
    delay_s: float


Outcome = httpx.Response | httpx.RequestError | None
Exchange = Generator[httpx.Request | Sleep, Outcome, httpx.Response]


def exchange(request: httpx.Request, policy: RetryPolicy, *, idempotent: bool) -> Exchange:
    """Send ``request`` until it succeeds, fails for good, or runs out of retries.

    Returns the 2xx response; raises an ``APIError`` for an error reply,
    ``APITimeoutError`` or ``APIConnectionError`` when no reply came.
    """
    retry = 0
    while True:
        outcome = yield request
        retry_after_s: float | None = None
        if isinstance(outcome, httpx.Response):
            if outcome.is_success:
                return outcome
            retry_after_s = parse_retry_after(outcome.headers.get("retry-after"))
            retryable = policy.should_retry_status(outcome.status_code, idempotent=idempotent)
        elif isinstance(outcome, httpx.TransportError):
            retryable = policy.should_retry_error(outcome, idempotent=idempotent)
        elif isinstance(outcome, httpx.RequestError):
            retryable = False
        else:
            raise TypeError(f"exchange was sent {outcome!r}, not the outcome of a request")
        if not retryable or retry >= policy.max_retries:
            raise _final_error(outcome, retry_after_s)
        yield Sleep(policy.delay_s(retry, retry_after_s))
        retry += 1


def _final_error(
    outcome: httpx.Response | httpx.RequestError, retry_after_s: float | None
) -> HeraldError:
    if isinstance(outcome, httpx.Response):
        return error_from_response(outcome, retry_after_s)
    if isinstance(outcome, httpx.TimeoutException):
        return APITimeoutError(f"Herald did not answer in time: {outcome!r}")
    return APIConnectionError(f"could not reach Herald: {outcome!r}")


# The waits between tries; module attributes so that tests can replace them.
sleep: Callable[[float], None] = time.sleep


async def async_sleep(delay_s: float) -> None:
    await asyncio.sleep(delay_s)


def send_sync(client: httpx.Client, steps: Exchange) -> httpx.Response:
    """Carry out ``steps`` with a blocking client."""
    step: httpx.Request | Sleep | httpx.Response = next(steps)
    while not isinstance(step, httpx.Response):
        step = _advance(steps, _carry_out_sync(client, step))
    return step


async def send_async(client: httpx.AsyncClient, steps: Exchange) -> httpx.Response:
    """Carry out ``steps`` with an async client."""
    step: httpx.Request | Sleep | httpx.Response = next(steps)
    while not isinstance(step, httpx.Response):
        step = _advance(steps, await _carry_out_async(client, step))
    return step


def _carry_out_sync(client: httpx.Client, step: httpx.Request | Sleep) -> Outcome:
    if isinstance(step, Sleep):
        sleep(step.delay_s)
        return None
    try:
        return client.send(step)
    except httpx.RequestError as exc:
        return exc


async def _carry_out_async(client: httpx.AsyncClient, step: httpx.Request | Sleep) -> Outcome:
    if isinstance(step, Sleep):
        await async_sleep(step.delay_s)
        return None
    try:
        return await client.send(step)
    except httpx.RequestError as exc:
        return exc


def _advance(steps: Exchange, outcome: Outcome) -> httpx.Request | Sleep | httpx.Response:
    """The next step, or the final response once ``steps`` has finished."""
    try:
        return steps.send(outcome)
    except StopIteration as finished:
        response: httpx.Response = finished.value
        return response
