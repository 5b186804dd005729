"""The console's router: its controllers, HTML errors (signed-out → the login page), and
no framing of any of its pages."""

from typing import Any

from litestar import Request, Response, Router
from litestar.di import Provide

from app.config import Settings
from app.errors import HeraldError, Unauthorized
from portal.console.auth import LoginController
from portal.console.replays import ReplayPagesController
from portal.console.search import SearchController
from portal.console.session import provide_console
from portal.framing import NeverFramed
from portal.web import html_error_handler, redirect


def console_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A missing or expired session goes to the login page; other errors as pages/toasts."""
    if isinstance(exc, Unauthorized):
        settings: Settings = request.app.state.settings
        return redirect(settings, "/console/login", request)
    return html_error_handler(request, exc)


def console_router() -> Router:
    return Router(
        path="/",
        route_handlers=[LoginController, SearchController, ReplayPagesController],
        dependencies={"console": Provide(provide_console)},
        exception_handlers={HeraldError: console_error_handler},
        middleware=[NeverFramed],
        include_in_schema=False,
    )
