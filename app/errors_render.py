"""The one renderer: any exception → the contract's ``{"code", "detail", "fields"?}``."""

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.errors import HeraldError

log = logging.getLogger("herald.api")

_MSGSPEC_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_NAMED_FIELD = re.compile(r"(?:missing required|contains unknown) field `(?P<name>[^`]+)`")
# Litestar's name for the decoded body: an error keyed by it alone is about the body as a
# whole (absent, or a JSON value that is not an object), not about one of its fields.
_BODY_KEY = "data"
NOT_AN_OBJECT = "the request body must be a JSON object"


def error_response(status_code: int, code: str, detail: str, fields: Any = None) -> Response[Any]:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return Response(body, status_code=status_code)


def render_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, HeraldError):
        return error_response(exc.status_code, exc.code, exc.detail, exc.fields)
    if isinstance(exc, ValidationException):
        return _render_validation(exc)
    if isinstance(exc, NotFoundException):
        return error_response(404, "not_found", "no such resource")
    if isinstance(exc, MethodNotAllowedException):
        return error_response(405, "method_not_allowed", str(exc.detail))
    if isinstance(exc, HTTPException):
        if exc.status_code == 413:
            return error_response(413, "payload_too_large", "the request body is too large")
        if exc.status_code == 400:
            return error_response(400, "malformed_request", str(exc.detail))
        if exc.status_code < 500:
            return error_response(exc.status_code, "bad_request", str(exc.detail))
    invalid_value = _client_data_error(exc)
    if invalid_value is not None:
        return error_response(
            422, "validation_failed", f"a value in the request cannot be used: {invalid_value}"
        )
    if is_dependency_down(exc):
        log.warning("dependency unavailable on %s %s: %r", request.method, request.url.path, exc)
        return error_response(
            503, "service_unavailable", "a dependency (database or broker) is unavailable; retry"
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error occurred")


def _render_validation(exc: ValidationException) -> Response[Any]:
    items = exc.extra if isinstance(exc.extra, list) else []
    if any(_is_whole_body(item) for item in items):
        return error_response(400, "malformed_request", NOT_AN_OBJECT)
    fields: dict[str, str] = {}
    for item in items:
        if isinstance(item, dict) and item.get("key"):
            message = str(item.get("message", "is invalid"))
            key = str(item["key"])
            match = _MSGSPEC_PATH.search(message)
            if match and match["path"]:
                key = match["path"]
            named = _NAMED_FIELD.search(message)
            if named:
                prefix = match["path"] + "." if match and match["path"] else ""
                key = prefix + named["name"]
            fields[key] = _MSGSPEC_PATH.sub("", message)
    if not fields:
        detail = str(exc.detail) if exc.detail else "the request body is not valid JSON"
        return error_response(400, "malformed_request", detail)
    detail = "; ".join(f"{key}: {message}" for key, message in fields.items())
    return error_response(422, "validation_failed", detail, fields)


def _is_whole_body(item: object) -> bool:
    """True for an error about the body itself: empty (Litestar then reports the missing
    ``data`` argument) or a JSON value other than an object."""
    if not isinstance(item, dict) or item.get("key") != _BODY_KEY or item.get("source") != "body":
        return False
    return not _NAMED_FIELD.search(str(item.get("message", "")))


# SQLSTATE classes that mean "the database is unreachable or going away", not "the
# request is wrong": 08 connection exception, 53 insufficient resources (too many
# connections), 57P operator intervention (shutting down, starting up, crashed).
_DEPENDENCY_SQLSTATES = ("08", "53", "57P")


def is_dependency_down(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if any(state.startswith(_DEPENDENCY_SQLSTATES) for state in _sqlstates(exc)):
        return True
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return True
    return type(exc).__module__.startswith(("redis.", "asyncpg."))


def _client_data_error(exc: BaseException) -> str | None:
    """The database's message when it refused a value itself (SQLSTATE class 22, data
    exception: a NUL character in text, a number out of range...), which only request
    data can cause; else None."""
    if not isinstance(exc, DBAPIError):
        return None
    if not any(state.startswith("22") for state in _sqlstates(exc)):
        return None
    return str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"


def _sqlstates(exc: BaseException) -> list[str]:
    """The SQLSTATE codes along ``exc``'s cause chain (SQLAlchemy wraps the driver's
    error, e.g. asyncpg's CannotConnectNowError 57P03, in a plain DBAPIError)."""
    states: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str):
            states.append(state)
        current = current.__cause__ or current.__context__
    return states
