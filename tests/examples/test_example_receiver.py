"""``examples/receiver.py``, the README's receiver: run as the README runs it."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.delivery.signing import new_key, parse_key, sign
from tests.services import free_port, port_is_open, wait_until

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 15.0


@contextmanager
def running_receiver(secret: str, output: Path) -> Iterator[str]:
    """The example receiver on a free port until the block ends; yields its URL. What it
    prints goes to ``output``."""
    port = free_port()
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "examples" / "receiver.py"), "--port", str(port)],
            env={**os.environ, "HERALD_WEBHOOK_SECRET": secret},
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda: port_is_open(port), START_TIMEOUT_S, "the example receiver")
            yield f"http://127.0.0.1:{port}/webhooks"
        finally:
            process.terminate()
            process.wait(timeout=5)


def signed_headers(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    """The headers Herald's signer puts on a delivery of ``body``."""
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, [parse_key(secret)]),
    }


def test_accepts_a_signed_webhook_and_refuses_a_forged_one(tmp_path: Path) -> None:
    # Given the example receiver with an endpoint's secret
    secret, body = new_key(), b'{"invoice": "in_1", "amount": 4200}'
    with running_receiver(secret, tmp_path / "receiver.out") as url:
        # When Herald's signer signs one request, another key a second, and none a third
        genuine = httpx.post(url, content=body, headers=signed_headers(secret, "msg_1", body))
        forged = httpx.post(url, content=body, headers=signed_headers(new_key(), "msg_2", body))
        unsigned = httpx.post(url, content=body)

    # Then the genuine one is accepted and printed, the others refused
    assert (genuine.status_code, forged.status_code, unsigned.status_code) == (204, 400, 400)
    printed = (tmp_path / "receiver.out").read_text()
    assert "verified msg_1 {'invoice': 'in_1', 'amount': 4200}" in printed
    assert "msg_2" not in printed
