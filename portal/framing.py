"""Who may frame the web UIs: the tenant portal, the origins the producer lists; the console,
nobody.

- ``frame_headers(sources)``: the CSP directive and header that let ``sources`` frame a
  page; with no source, ``frame-ancestors 'none'`` plus ``X-Frame-Options: DENY`` for
  browsers that predate CSP. ``portal.web.security_headers`` uses it with
  ``HERALD_FRAME_ANCESTORS`` (empty unless the producer lists the origins embedding it).
- ``NeverFramed``: ASGI middleware for the console's router. It rewrites the head of every
  response the router sends (pages, redirects, htmx fragments and error pages alike) so
  that no page of the console can be framed, whatever ``HERALD_FRAME_ANCESTORS`` says:
  a staff member's clicks must never be steered through someone else's page.
"""

from collections.abc import Iterable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP = "content-security-policy"
FRAME_OPTIONS = "x-frame-options"
DIRECTIVE = "frame-ancestors"


def frame_headers(sources: Iterable[str]) -> tuple[str, dict[str, str]]:
    """``(directive, extra headers)`` letting ``sources`` frame a page; none → nobody."""
    listed = " ".join(sources)
    if listed:
        return f"{DIRECTIVE} {listed}", {}
    return f"{DIRECTIVE} 'none'", {FRAME_OPTIONS: "DENY"}


class NeverFramed:
    """Middleware: every response says ``frame-ancestors 'none'`` and
    ``X-Frame-Options: DENY``, keeping the rest of its Content-Security-Policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_unframed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = unframed(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_unframed)


def unframed(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with every frame refused: each CSP's ``frame-ancestors`` replaced by
    ``'none'`` (one CSP added when there is none), and ``X-Frame-Options: DENY``."""
    directive, extra = frame_headers(())
    kept: list[tuple[bytes, bytes]] = []
    policies: list[str] = []
    for name, value in headers:
        key = name.decode("latin-1").lower()
        if key == CSP:
            policies.append(value.decode("latin-1"))
        elif key not in extra:
            kept.append((name, value))
    rewritten = [_with_directive(policy, directive) for policy in policies] or [directive]
    kept += [(CSP.encode(), policy.encode("latin-1")) for policy in rewritten]
    kept += [(key.encode(), value.encode("latin-1")) for key, value in extra.items()]
    return kept


def _with_directive(policy: str, directive: str) -> str:
    """``policy`` with its ``frame-ancestors`` directive (if any) replaced by ``directive``."""
    others = [
        part.strip()
        for part in policy.split(";")
        if part.strip() and part.split()[0].lower() != DIRECTIVE
    ]
    return "; ".join([*others, directive])
