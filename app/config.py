"""Settings: every ``HERALD_*`` variable, read once from an explicit environ and validated.

``load_settings(os.environ)`` is called by the process entry points (``app.cli``,
``workers.entrypoint``) and the resulting frozen value is passed down; nothing reads the
environment at import time.
"""

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_RETRY_SCHEDULE_S = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
LOOPBACK_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
# One CSP source of ``frame-ancestors``: a keyword, a scheme, or a host without a path.
_FRAME_SOURCE = re.compile(
    r"""'self' | \* | https?:
      | (https?://)? (\*\.)? ([a-z0-9-]+(\.[a-z0-9-]+)* | \[[0-9a-f:.]+\]) (:(\d{1,5}|\*))?""",
    re.IGNORECASE | re.VERBOSE,
)

# HERALD_SECRET_KEY must carry 32 random bytes: 64 hex digits (4 bits each) or 43 other
# characters (6 bits each, as base64 writes bytes); "=" padding carries nothing.
SECRET_KEY_MIN_BITS = 256
# A random key's characters vary: 64 random hex digits score at least ~3.4 bits of Shannon
# entropy per character and base64 ~4.2, while "changeme…" scores 2.75 and "aaaa…" 0.
SECRET_KEY_MIN_BITS_PER_CHAR = 3.0
# No run of this many characters occurs twice in a random key (odds ~1e-9 for 64 hex
# digits), but it does in any key built by repeating a word.
SECRET_KEY_REPEAT_CHARS = 10
SECRET_KEY_RULE = (
    "it must hold at least 32 random bytes: 64 hex digits or 43 base64 characters, with no"
    " repeated word or run (generate one with `openssl rand -hex 32`)"
)
_HEX = re.compile(r"[0-9a-fA-F]+")


class ConfigError(ValueError):
    """A HERALD_* variable has a value Herald cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///herald.db"
    redis_url: str | None = None
    secret_key: str | None = None
    # Earlier master keys, still accepted for opening sealed secrets during a rotation.
    old_secret_keys: tuple[str, ...] = ()
    public_url: str = "http://127.0.0.1:8000"
    allowed_private_networks: tuple[IPNetwork, ...] = ()
    max_payload_bytes: int = 262_144
    retry_schedule_s: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE_S
    request_timeout_s: float = 15.0
    # Tuning knobs (documented in the README, not in the contract).
    scheduler_interval_s: float = 1.0
    requeue_after_s: float = 60.0
    retry_jitter: float = 0.2
    max_retry_after_s: float = 3600.0
    disable_after_s: int = 5 * 24 * 3600
    circuit_failure_threshold: int = 5
    circuit_cooldown_s: float = 30.0
    # Requests in flight at once, across every worker process: to one endpoint, and to
    # all the endpoints of one tenant. Deliveries in hand per worker process.
    max_in_flight_per_endpoint: int = 32
    max_in_flight_per_tenant: int = 128
    worker_concurrency: int = 256
    # /readyz answers 503 when a delivery Herald is free to send has waited longer.
    ready_max_lag_s: float = 300.0
    # CSP sources that may frame the tenant portal; none by default (the console: never).
    frame_ancestors: tuple[str, ...] = ()
    log_level: str = "INFO"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_changes(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build ``Settings`` from ``environ``; raise ``ConfigError`` naming the bad variable."""
    defaults = Settings()
    return Settings(
        database_url=environ.get("HERALD_DATABASE_URL", defaults.database_url),
        redis_url=environ.get("HERALD_REDIS_URL") or None,
        secret_key=check_secret_key(environ.get("HERALD_SECRET_KEY") or None, "HERALD_SECRET_KEY"),
        old_secret_keys=tuple(
            key.strip()
            for key in environ.get("HERALD_OLD_SECRET_KEYS", "").split(",")
            if key.strip()
        ),
        public_url=environ.get("HERALD_PUBLIC_URL", defaults.public_url).rstrip("/"),
        allowed_private_networks=parse_networks(
            environ.get("HERALD_ALLOWED_PRIVATE_NETWORKS", ""), "HERALD_ALLOWED_PRIVATE_NETWORKS"
        ),
        max_payload_bytes=_int(environ, "HERALD_MAX_PAYLOAD_BYTES", defaults.max_payload_bytes),
        retry_schedule_s=parse_retry_schedule(
            environ.get("HERALD_RETRY_SCHEDULE", ""), "HERALD_RETRY_SCHEDULE"
        )
        or defaults.retry_schedule_s,
        request_timeout_s=_float(environ, "HERALD_REQUEST_TIMEOUT", defaults.request_timeout_s),
        scheduler_interval_s=_float(
            environ, "HERALD_SCHEDULER_INTERVAL", defaults.scheduler_interval_s
        ),
        requeue_after_s=_float(environ, "HERALD_REQUEUE_AFTER", defaults.requeue_after_s),
        disable_after_s=_int(environ, "HERALD_DISABLE_AFTER", defaults.disable_after_s),
        circuit_failure_threshold=_int(
            environ, "HERALD_CIRCUIT_THRESHOLD", defaults.circuit_failure_threshold
        ),
        circuit_cooldown_s=_float(environ, "HERALD_CIRCUIT_COOLDOWN", defaults.circuit_cooldown_s),
        max_in_flight_per_endpoint=_int(
            environ, "HERALD_MAX_IN_FLIGHT_PER_ENDPOINT", defaults.max_in_flight_per_endpoint
        ),
        max_in_flight_per_tenant=_int(
            environ, "HERALD_MAX_IN_FLIGHT_PER_TENANT", defaults.max_in_flight_per_tenant
        ),
        worker_concurrency=_int(environ, "HERALD_WORKER_CONCURRENCY", defaults.worker_concurrency),
        ready_max_lag_s=_float(environ, "HERALD_READY_MAX_LAG_S", defaults.ready_max_lag_s),
        frame_ancestors=parse_frame_ancestors(
            environ.get("HERALD_FRAME_ANCESTORS", ""), "HERALD_FRAME_ANCESTORS"
        ),
        log_level=environ.get("HERALD_LOG_LEVEL", defaults.log_level).upper(),
    )


def check_secret_key(key: str | None, name: str) -> str | None:
    """``key`` itself, or None when unset; ``ConfigError`` (saying why, never the key)
    when it is too short or too regular to hold ``SECRET_KEY_MIN_BITS`` of entropy."""
    if key is None:
        return None
    reason = _secret_key_weakness(key)
    if reason is not None:
        raise ConfigError(f"{name} is too weak ({reason}); {SECRET_KEY_RULE}")
    return key


def _secret_key_weakness(key: str) -> str | None:
    """Why ``key`` is too weak for a master key, or None when it is strong enough."""
    body = key.rstrip("=")
    bits_per_char = 4 if _HEX.fullmatch(body) else 6
    needed = math.ceil(SECRET_KEY_MIN_BITS / bits_per_char)
    if len(body) < needed:
        kind = "hex digits" if bits_per_char == 4 else "characters"
        return f"{len(body)} {kind} where at least {needed} are needed"
    counts = Counter(body).values()
    spread = -sum(count / len(body) * math.log2(count / len(body)) for count in counts)
    if spread < SECRET_KEY_MIN_BITS_PER_CHAR:
        return "its characters repeat too much to be random"
    runs = [
        body[i : i + SECRET_KEY_REPEAT_CHARS]
        for i in range(len(body) - SECRET_KEY_REPEAT_CHARS + 1)
    ]
    if len(set(runs)) < len(runs):
        return "it repeats a sequence of characters"
    return None


def parse_networks(raw: str, name: str) -> tuple[IPNetwork, ...]:
    networks = []
    for part in raw.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as exc:
                raise ConfigError(f"{name}: {part.strip()!r} is not a CIDR ({exc})") from None
    return tuple(networks)


def parse_frame_ancestors(raw: str, name: str) -> tuple[str, ...]:
    """Space-separated origins (``https://app.example.com``, ``https://*.example.com``,
    ``'self'``, a scheme such as ``https:``) → a tuple; empty or ``'none'`` → ``()``.
    Anything else, such as a path or a ``;`` that would add a directive, is refused."""
    sources = tuple(raw.split())
    if sources == ("'none'",):
        return ()
    for source in sources:
        if not _FRAME_SOURCE.fullmatch(source):
            raise ConfigError(
                f"{name}: {source!r} is not an origin such as https://app.example.com"
                " (list origins separated by spaces, or 'none' alone)"
            )
    return sources


def parse_retry_schedule(raw: str, name: str) -> tuple[int, ...]:
    """``"0,5,300"`` → ``(0, 5, 300)``; empty → ``()``."""
    if not raw.strip():
        return ()
    try:
        delays = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError(f"{name}: expected comma-separated whole seconds, got {raw!r}") from None
    if any(delay < 0 for delay in delays):
        raise ConfigError(f"{name}: delays cannot be negative")
    return delays


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name}: must be positive, got {value}")
    return value


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name}: must be positive, got {value}")
    return value
