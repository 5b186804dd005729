"""``load_settings``: HERALD_SECRET_KEY must hold 32 random bytes, or nothing starts."""

import base64
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli import DEV_SECRET_KEY, DEV_STATE_DIR, dev_settings
from app.config import ConfigError, Settings, load_settings
from tests.herald_cli import UNREACHED_PRODUCTION_ENV, run_cli

WEAK_KEYS = {
    "short": "startup-test-key",
    "32 hex digits (16 bytes)": "0123456789abcdef" * 2,
    "one character repeated": "a" * 64,
    "a repeated word": "changeme" * 6,
    "a repeated phrase": "changeme-please-" * 3,
    "digits repeated": "1234567890" * 7,
}


@pytest.mark.parametrize("key", WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_a_short_or_regular_key_is_refused_with_the_rule(key: str) -> None:
    # When settings are read with a weak key
    with pytest.raises(ConfigError) as refused:
        load_settings({"HERALD_SECRET_KEY": key})

    # Then the message names the variable, says the rule and how to make a key, not the key
    message = str(refused.value)
    assert message.startswith("HERALD_SECRET_KEY is too weak (")
    assert "32 random bytes" in message and "openssl rand -hex 32" in message
    assert key not in message


STRONG_KEYS = {
    "openssl rand -hex 32": lambda: os.urandom(32).hex(),
    "openssl rand -base64 32": lambda: base64.b64encode(os.urandom(32)).decode(),
    "secrets.token_urlsafe(32)": lambda: secrets.token_urlsafe(32),
    "a longer hex key": lambda: os.urandom(64).hex(),
}


@pytest.mark.parametrize("make", STRONG_KEYS.values(), ids=STRONG_KEYS.keys())
def test_random_keys_of_32_bytes_are_accepted(make: Callable[[], str]) -> None:
    for _ in range(200):
        key = make()
        assert load_settings({"HERALD_SECRET_KEY": key}).secret_key == key


def test_no_key_and_weak_old_keys_are_accepted() -> None:
    # A missing key is a production-only error; old keys are only for opening, so an old
    # weak key can be rotated away from.
    settings = load_settings({"HERALD_OLD_SECRET_KEYS": "changeme"})
    assert settings.secret_key is None and settings.old_secret_keys == ("changeme",)


@pytest.mark.parametrize("command", ["api", "worker", "scheduler", "rotate-master-key"])
async def test_commands_exit_non_zero_with_the_message(settings: Settings, command: str) -> None:
    # Given production settings but a weak secret key
    env = UNREACHED_PRODUCTION_ENV | {"HERALD_SECRET_KEY": "changeme" * 6}

    # When the command starts
    code, out, err = await run_cli(settings, command, env=env)

    # Then it stops at once, saying why
    assert code == 2, (out, err)
    assert "HERALD_SECRET_KEY is too weak" in err and "32 random bytes" in err
    assert "changeme" not in err + out


def test_dev_generates_a_key_that_meets_the_rule(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a fresh working directory
    monkeypatch.chdir(tmp_path)

    # When `herald dev` makes its settings twice (two runs)
    first = dev_settings(Settings(), {})
    again = dev_settings(Settings(), {})

    # Then it generated one strong key, kept it, and it passes the production rule
    assert first.secret_key is not None and first.secret_key == again.secret_key
    assert load_settings({"HERALD_SECRET_KEY": first.secret_key}).secret_key == first.secret_key
    assert (DEV_STATE_DIR / DEV_SECRET_KEY).stat().st_mode & 0o777 == 0o600


def test_dev_refuses_a_weak_persisted_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a persisted development key edited to something weak
    monkeypatch.chdir(tmp_path)
    DEV_STATE_DIR.mkdir()
    (DEV_STATE_DIR / DEV_SECRET_KEY).write_text("dev\n")

    # Then `herald dev` refuses it, naming the file
    with pytest.raises(ConfigError, match=r"\.herald/secret-key is too weak"):
        dev_settings(Settings(), {})
