"""Logging set-up for Herald's processes (one line per event, no secrets).

Secrets travel in some URLs (a portal magic link is ``/portal/access?token=…``), and
uvicorn's access log prints each request's path with its query string: every process that
serves HTTP logs through ``uvicorn_log_config()``, whose filter blanks the value of any
query parameter named ``token`` or ending in ``_token`` before a line is written.
"""

import copy
import logging
import re
from typing import Any

# A query parameter whose name is or ends in "token", up to the value's end.
_TOKEN_IN_QUERY = re.compile(r"([?&](?:[^=&#\s]*_)?token=)[^&#\s]*", re.IGNORECASE)
REDACTED = "[redacted]"


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Per-request lines from the HTTP client would drown everything else.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def redact_tokens(text: str) -> str:
    """``text`` with the value of every ``token`` query parameter replaced."""
    return _TOKEN_IN_QUERY.sub(rf"\g<1>{REDACTED}", text)


class RedactQueryTokens(logging.Filter):
    """Blanks token query values in a record's message and string arguments (uvicorn's
    access log passes the path with its query string as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_tokens(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with ``RedactQueryTokens`` on its access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": "app.logs.RedactQueryTokens"}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_tokens"]
    return config
