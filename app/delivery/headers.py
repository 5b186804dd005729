"""Custom headers on outgoing webhooks (an endpoint's and a message's own)."""

import re
from collections.abc import Mapping

from app.errors import ValidationFailed

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
_RESERVED = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "user-agent",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "expect",
    }
)
MAX_HEADERS = 20
MAX_VALUE_LENGTH = 4096


def validate_custom_headers(field: str, headers: Mapping[str, str]) -> dict[str, str]:
    """Return the headers as given, or raise ``ValidationFailed`` naming ``field``.

    Names must be HTTP tokens and may not be hop-by-hop, framing or Standard Webhooks
    (``webhook-*``) headers, which Herald sets itself.
    """
    if len(headers) > MAX_HEADERS:
        raise ValidationFailed.field(field, f"at most {MAX_HEADERS} headers")
    for name, value in headers.items():
        lowered = name.lower()
        if not _TOKEN.match(name):
            raise ValidationFailed.field(field, f"{name!r} is not a valid header name")
        if lowered in _RESERVED or lowered.startswith("webhook-"):
            raise ValidationFailed.field(
                field, f"{name!r} is set by Herald and cannot be overridden"
            )
        if len(value) > MAX_VALUE_LENGTH or any(ch in value for ch in "\r\n\0"):
            raise ValidationFailed.field(
                field, f"the value of {name!r} is not a valid header value"
            )
    return dict(headers)
