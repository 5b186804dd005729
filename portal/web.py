"""Server-rendered HTML for the portal and the console: templates, headers, errors.

- ``render(name, context, status_code=200)``: a Jinja2 template (autoescape on: every
  value is HTML-escaped unless a template says otherwise) as an HTML response with the
  security headers below. Templates live in ``portal/templates`` and
  ``portal/console/templates``; ``base.html`` is the shared layout.
- ``security_headers(settings)``: CSP (``frame-ancestors`` from settings, none unless the
  producer lists origins, see ``portal.framing``; scripts from ourselves only),
  ``Referrer-Policy: no-referrer`` (a magic link must not leak through the Referer
  header), ``X-Content-Type-Options``.
- ``shown_url`` (the template filter ``url|shown_url(read_only)``): an endpoint URL with
  its credentials masked for read-only portal sessions.
- ``html_error_handler``: a router-level exception handler rendering ``HeraldError`` as a
  page, or, for htmx requests, as a toast retargeted to ``#flash``.
"""

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from markupsafe import Markup

from app import __version__
from app.config import Settings
from app.errors import HeraldError
from portal import wording
from portal.framing import frame_headers

log = logging.getLogger("herald.portal")

PORTAL_DIR = Path(__file__).parent
STATIC_DIR = PORTAL_DIR / "static"
STATIC_PATH = "/portal/static"
MASK = "••••"
TEMPLATE_DIRS = [PORTAL_DIR / "templates", PORTAL_DIR / "console" / "templates"]


def static_url(path: str) -> str:
    """URL of a file under ``portal/static`` (versioned so a deploy busts caches)."""
    return f"{STATIC_PATH}/{path}?v={__version__}"


def pretty_json(raw: bytes | str | Any) -> str:
    """Indented JSON for display (the template escapes it); raw text when not JSON."""
    if isinstance(raw, bytes | str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=False)


def format_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """``"3 min ago"`` / ``"in 5 s"``; ``"—"`` for None."""
    if value is None:
        return "—"
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = f"{seconds // size} {unit}"
            break
    else:
        amount = f"{seconds} s"
    return f"in {amount}" if future else f"{amount} ago"


def shown_url(url: str, read_only: bool) -> str:
    """``url`` as a portal session may see it: a read-only session, whose link may be
    handed around widely, sees no credentials in it (user, password, query values,
    fragment)."""
    if not read_only:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{MASK}@{host}" if "@" in parts.netloc else host
    query = "&".join(
        f"{name}={MASK}" if sep else name
        for name, sep, _ in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    fragment = MASK if parts.fragment else ""
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader([str(d) for d in TEMPLATE_DIRS])]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static=static_url, version=__version__)
    env.filters.update(
        pretty_json=pretty_json,
        time=format_time,
        ago=relative_time,
        shown_url=shown_url,
        error_phrase=wording.error_phrase,
        hours=wording.hours,
        next_attempt=wording.next_attempt,
        breakable=wording.breakable,
        short_time=wording.short_time,
    )
    env.globals.update(shown_percent=wording.shown_percent)
    return env


templates = _environment()


def security_headers(settings: Settings) -> dict[str, str]:
    frame_ancestors, frame_options = frame_headers(settings.frame_ancestors)
    csp = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            # Inline styles: the accent colour variable and htmx's indicator styles.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' https: data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            frame_ancestors,
        )
    )
    return {
        "content-security-policy": csp,
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
        **frame_options,
    }


def render(
    settings: Settings,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    """The template ``name`` rendered with ``context`` as an HTML response."""
    html = templates.get_template(name).render(**context)
    return Response(
        html,
        status_code=status_code,
        media_type=MediaType.HTML,  # Litestar appends "; charset=utf-8"
        headers={**security_headers(settings), **(headers or {})},
    )


def redirect(settings: Settings, path: str, request: Request[Any, Any, Any]) -> Response[Any]:
    """Go to ``path``: an ``HX-Redirect`` for htmx requests, a 303 otherwise."""
    if is_htmx(request):
        return Response(b"", status_code=204, headers={"HX-Redirect": path})
    return Redirect(path, status_code=303, headers=security_headers(settings))


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def toast(message: str, kind: str = "error") -> Markup:
    """The HTML of one toast for ``#flash`` (escaped)."""
    return Markup('<div class="toast toast-{}" role="alert">{}</div>').format(kind, message)


def html_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors of the web UIs: a toast for htmx requests, an error page otherwise."""
    settings: Settings = request.app.state.settings
    status, title, detail = _describe(exc)
    if is_htmx(request):
        return Response(
            str(toast(detail)),
            status_code=status,
            media_type=MediaType.HTML,
            headers={
                **security_headers(settings),
                "HX-Retarget": "#flash",
                "HX-Reswap": "innerHTML",
            },
        )
    context = {"title": title, "detail": detail, "status": status, "brand": None, "nav": []}
    return render(settings, "error.html", context, status_code=status)


def _describe(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, HeraldError):
        if exc.status_code >= 500 and exc.status_code != 503:
            return 500, "Something went wrong", "An unexpected error occurred."
        titles = {401: "Please sign in again", 403: "Not allowed", 404: "Not found"}
        return exc.status_code, titles.get(exc.status_code, "Request failed"), exc.detail
    if isinstance(exc, NotFoundException):
        return 404, "Not found", "There is nothing at this address."
    if isinstance(exc, ValidationException):
        return 400, "Request failed", "The form could not be read; reload and try again."
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return exc.status_code, "Request failed", str(exc.detail)
    log.exception("unhandled error in the web UI", exc_info=exc)
    return 500, "Something went wrong", "An unexpected error occurred."


def static_files_router() -> ControllerRouterHandler:
    return create_static_files_router(
        path=STATIC_PATH, directories=[STATIC_DIR], name="portal-static", include_in_schema=False
    )
