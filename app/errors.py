"""Every error a client can cause, and how it is shown.

Each class carries its HTTP status and its snake_case code; the one renderer in
``app.asgi`` turns any of them into ``{"code", "detail", "fields"?}``::

    HeraldError (500 internal_error)
    ├── BadRequest (400 bad_request)
    ├── Unauthorized (401 unauthorized)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not_found)
    ├── Conflict (409 conflict)
    ├── PayloadTooLarge (413 payload_too_large)
    ├── ValidationFailed (422 validation_failed, with ``fields``)
    ├── Throttled (429 throttled)
    └── DependencyUnavailable (503 service_unavailable)
"""

from collections.abc import Mapping


class HeraldError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(
        self, detail: str, *, code: str | None = None, fields: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.fields = dict(fields) if fields else None


class BadRequest(HeraldError):
    status_code = 400
    code = "bad_request"


class Unauthorized(HeraldError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HeraldError):
    status_code = 403
    code = "forbidden"


class NotFound(HeraldError):
    status_code = 404
    code = "not_found"


class Conflict(HeraldError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(HeraldError):
    status_code = 413
    code = "payload_too_large"


class ValidationFailed(HeraldError):
    status_code = 422
    code = "validation_failed"

    @classmethod
    def field(cls, name: str, message: str) -> "ValidationFailed":
        """One invalid field: the detail names it, ``fields`` maps it to the reason."""
        return cls(f"{name}: {message}", fields={name: message})


class Throttled(HeraldError):
    status_code = 429
    code = "throttled"


class DependencyUnavailable(HeraldError):
    status_code = 503
    code = "service_unavailable"


def not_found(kind: str, key: str) -> NotFound:
    """The 404 for an object that does not exist *or belongs to another project*."""
    return NotFound(f"{kind} {key!r} was not found")
