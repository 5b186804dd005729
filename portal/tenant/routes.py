"""The tenant portal's router: its controllers, its session dependency, HTML errors."""

from litestar import Router
from litestar.di import Provide

from portal.tenant.access import AccessController
from portal.tenant.catalog import CatalogPages
from portal.tenant.endpoint_actions import EndpointActions, RecoveryProgress
from portal.tenant.endpoints import EndpointPages
from portal.tenant.messages import MessagePages
from portal.tenant.session import provide_portal
from portal.web import html_error_handler


def tenant_portal_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            AccessController,
            EndpointPages,
            EndpointActions,
            RecoveryProgress,
            MessagePages,
            CatalogPages,
        ],
        dependencies={"portal": Provide(provide_portal)},
        exception_handlers={Exception: html_error_handler},
        include_in_schema=False,
    )
