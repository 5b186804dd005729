"""A real ``herald dev`` and a real webhook receiver for the integration tests; the
fixtures in conftest.py start each once per session."""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks
from aiohttp import web
from herald_sdk.errors import WebhookVerificationError
from herald_sdk.webhooks import Webhook

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class HeraldServer:
    base_url: str
    api_key: str
    project_id: str


@contextlib.contextmanager
def running_herald_dev() -> Iterator[HeraldServer]:
    """``herald dev`` on a free port of 127.0.0.1 over a fresh SQLite file, with a project
    made by ``herald project create``. Loopback receivers are allowed (the dev default:
    every ``HERALD_*`` variable of the caller's environment is left out)."""
    workdir = Path(tempfile.mkdtemp(prefix="herald-sdk-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["HERALD_DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir / 'h.db'}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = _herald_command()

    def run(*args: str) -> str:
        done = subprocess.run(
            [*command, *args], cwd=workdir, env=env, capture_output=True, timeout=120
        )
        if done.returncode != 0:
            pytest.fail(f"herald {' '.join(args)} failed:\n{done.stderr.decode()}")
        return done.stdout.decode()

    run("migrate")
    created = json.loads(run("project", "create", "sdk-tests", "--json"))
    port = _free_port()
    log = workdir / "dev.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log)
        yield HeraldServer(base_url, created["api_key"], created["id"])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _herald_command() -> list[str]:
    """``herald`` from the venv when it is installed there, else the CLI module itself."""
    script = shutil.which("herald", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "app.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"herald dev exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base_url + "/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"herald dev gave no /healthz in {SERVER_START_TIMEOUT_S}s:\n{log.read_text()}")


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_by_sdk: bool
    verified_by_standardwebhooks: bool | None  # None: an ed25519 key, which it cannot check


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1. Each path answers 204 when ``herald_sdk.webhooks``
    and the ``standardwebhooks`` library both accept the request with the secret given to
    ``expect``, and 400 otherwise; every request is recorded."""

    base_url: str = ""
    received: list[ReceivedWebhook] = field(default_factory=list)
    _secrets: dict[str, str] = field(default_factory=dict)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def expect(self, path: str, secret: str) -> str:
        """Verify requests to ``path`` with ``secret``; returns the URL to register."""
        self._secrets[path] = secret
        return self.base_url + path

    def wait_for(self, path: str, count: int = 1, timeout_s: float = 30.0) -> list[ReceivedWebhook]:
        """The requests to ``path`` once there are ``count`` (fewer after ``timeout_s``)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.at(path)) >= count, timeout_s)
            return self.at(path)

    def at(self, path: str) -> list[ReceivedWebhook]:
        return [hook for hook in self.received if hook.path == path]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        secret = self._secrets.get(request.path)
        by_sdk, by_standard = False, None
        if secret is not None:
            by_sdk = _verifies(lambda: Webhook(secret).verify(body, headers))
            if secret.startswith("whsec_"):  # the library knows v1 (HMAC) only
                by_standard = _verifies(
                    lambda: standardwebhooks.Webhook(secret).verify(body, headers)
                )
        hook = ReceivedWebhook(request.path, headers, body, by_sdk, by_standard)
        with self._arrived:
            self.received.append(hook)
            self._arrived.notify_all()
        return web.Response(status=204 if by_sdk and by_standard is not False else 400)


def _verifies(verify: Callable[[], Any]) -> bool:
    try:
        verify()
    except (WebhookVerificationError, standardwebhooks.WebhookVerificationError):
        return False
    return True


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A ``Receiver`` served by aiohttp in a thread with its own event loop."""
    receiver = Receiver()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_receiver_app(receiver), access_log=None)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        receiver.base_url = f"http://{host}:{port}"

    thread = threading.Thread(target=loop.run_forever, name="sdk-receiver", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(start(), loop).result(10)
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _receiver_app(receiver: Receiver) -> web.Application:
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    return app
