"""CSRF protection bound to the session: the token is HMAC(key, session id).

Every page carries the token twice: in ``<body hx-headers>`` (htmx sends it as the
``X-CSRF-Token`` header on every request) and as a hidden ``_csrf`` field in forms.
``check_csrf`` accepts either on a state-changing request and raises ``Forbidden``
(code ``csrf_failed``) otherwise. The token cannot be forged without the secret key and
is useless with another session, and the session cookie is HttpOnly.
"""

import hmac
from hashlib import sha256
from typing import Any

from litestar import Request

from app.errors import Forbidden

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(secret_key: str, session_id: str) -> str:
    """The CSRF token of the session ``session_id``."""
    key = sha256(b"herald-csrf/v1:" + secret_key.encode()).digest()
    return hmac.new(key, session_id.encode(), sha256).hexdigest()


async def check_csrf(request: Request[Any, Any, Any], expected: str) -> None:
    """Return for safe methods or a matching token; raise ``Forbidden`` otherwise."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if not given:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not given or not hmac.compare_digest(given, expected):
        raise Forbidden(
            "this form has expired or did not come from this page; reload and try again",
            code="csrf_failed",
        )
