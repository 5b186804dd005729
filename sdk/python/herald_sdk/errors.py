"""Every error the SDK raises. Catch ``HeraldError`` for all of them::

    HeraldError                        status, code, detail
    ├── APIError                       Herald answered with an error ({code, detail, fields?})
    │   ├── BadRequestError            400 malformed request
    │   ├── AuthenticationError        401 no or bad API key
    │   ├── PermissionDeniedError      403
    │   ├── NotFoundError              404 (also another project's objects)
    │   ├── ConflictError              409
    │   ├── PayloadTooLargeError       413 payload over the server's limit
    │   ├── ValidationError            422 invalid field(s), see ``.fields``
    │   ├── RateLimitedError           429 throttled, see ``.retry_after_s``
    │   ├── ServiceUnavailableError    503 a dependency of Herald is down
    │   └── InternalServerError        any other 5xx
    ├── APIConnectionError             no answer: connection refused, reset, DNS, TLS
    │   └── APITimeoutError            no answer in time
    └── WebhookVerificationError       a received webhook failed verification

``APIError``s carry the HTTP ``status``; the others have ``status`` None. Every error has a
snake_case ``code``: the server's own for ``APIError``s, a fixed one for the rest.
"""

from collections.abc import Mapping
from typing import Any

import httpx


class HeraldError(Exception):
    """The base of every SDK error: ``status`` (None without an HTTP answer), ``code``
    (snake_case) and ``detail`` (a sentence)."""

    status: int | None = None
    code: str = "herald_error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class APIError(HeraldError):
    """Herald answered ``status`` with an error body ``{code, detail, fields?}``."""

    code = "api_error"

    def __init__(
        self,
        detail: str,
        *,
        status: int,
        code: str | None = None,
        fields: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail, code=code)
        self.status = status
        self.fields: dict[str, Any] = dict(fields or {})
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"


class BadRequestError(APIError):
    code = "bad_request"


class AuthenticationError(APIError):
    code = "unauthorized"


class PermissionDeniedError(APIError):
    code = "forbidden"


class NotFoundError(APIError):
    code = "not_found"


class ConflictError(APIError):
    code = "conflict"


class PayloadTooLargeError(APIError):
    code = "payload_too_large"


class ValidationError(APIError):
    """422: ``fields`` maps each invalid field to the reason."""

    code = "validation_failed"


class RateLimitedError(APIError):
    """429: ``retry_after_s`` is the server's ``Retry-After`` in seconds, if it sent one."""

    code = "throttled"

    def __init__(self, detail: str, *, retry_after_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after_s = retry_after_s


class ServiceUnavailableError(APIError):
    code = "service_unavailable"


class InternalServerError(APIError):
    code = "internal_error"


class APIConnectionError(HeraldError):
    """The request got no HTTP answer (refused, reset, DNS, TLS…)."""

    code = "connection_error"


class APITimeoutError(APIConnectionError):
    """The request got no answer within the client's timeout."""

    code = "timeout"


class WebhookVerificationError(HeraldError):
    """A received webhook is not authentic or not fresh: reject it (e.g. answer 400)."""

    code = "webhook_verification_failed"


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def error_from_response(response: httpx.Response, retry_after_s: float | None) -> APIError:
    """The ``APIError`` for a non-2xx ``response``, tolerant of bodies that are not Herald's."""
    status = response.status_code
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIError)
    body = _json_object(response)
    code = body.get("code")
    detail = body.get("detail")
    fields = body.get("fields")
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code if isinstance(code, str) else None,
        "fields": fields if isinstance(fields, Mapping) else None,
        "headers": response.headers,
    }
    if cls is RateLimitedError:
        kwargs["retry_after_s"] = retry_after_s
    if not isinstance(detail, str):
        detail = f"HTTP {status} {response.reason_phrase}".rstrip()
    return cls(detail, **kwargs)


def _json_object(response: httpx.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, Mapping) else {}
