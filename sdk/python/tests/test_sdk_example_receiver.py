"""The example receiver in ``examples/`` works as its docstring says."""

import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from herald_sdk.webhooks import Webhook
from litestar.testing import TestClient

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "receiver_litestar.py"


@pytest.fixture(scope="module")
def example() -> Iterator[ModuleType]:
    """The example, imported from its file (Litestar resolves annotations via sys.modules)."""
    name = "herald_sdk_example_receiver"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


def signed(body: bytes, msg_id: str = "msg_1") -> dict[str, str]:
    now = int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": Webhook(SECRET).sign(msg_id, now, body),
    }


def test_the_example_handles_a_signed_webhook_once(example: ModuleType) -> None:
    # Given the example app with a handler that records
    handled: list[tuple[str, Any]] = []
    app = example.create_app(SECRET, lambda msg_id, event: handled.append((msg_id, event)))
    body = b'{"type": "invoice.paid", "data": {"id": "in_1"}}'

    with TestClient(app) as client:
        # When Herald delivers the same message twice (a retry)
        first = client.post("/webhooks/herald", content=body, headers=signed(body))
        again = client.post("/webhooks/herald", content=body, headers=signed(body))

    # Then both are acknowledged, and it is handled once
    assert (first.status_code, again.status_code) == (204, 204)
    assert handled == [("msg_1", {"type": "invoice.paid", "data": {"id": "in_1"}})]


def test_the_example_rejects_a_forged_webhook(example: ModuleType) -> None:
    handled: list[Any] = []
    app = example.create_app(SECRET, lambda *args: handled.append(args))
    headers = signed(b'{"amount": 1}')

    with TestClient(app) as client:
        reply = client.post("/webhooks/herald", content=b'{"amount": 1000}', headers=headers)

    assert reply.status_code == 400
    assert handled == []
