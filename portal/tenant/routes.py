"""The tenant portal's router: its controllers, its session dependency, HTML errors."""

from litestar import Router
from litestar.di import Provide

from app.errors import HeraldError
from portal.tenant.access import AccessController
from portal.tenant.session import provide_portal
from portal.web import html_error_handler


def tenant_portal_router() -> Router:
    return Router(
        path="/",
        route_handlers=[AccessController],
        dependencies={"portal": Provide(provide_portal)},
        exception_handlers={HeraldError: html_error_handler},
        include_in_schema=False,
    )
