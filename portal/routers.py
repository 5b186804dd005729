"""Every web router the app mounts: static files, the tenant portal, the support console.

``app.asgi.create_app`` calls ``web_routers()`` once; each UI adds its router here.
"""

from litestar.types import ControllerRouterHandler

from portal.console.routes import console_router
from portal.tenant.routes import tenant_portal_router
from portal.web import static_files_router


def web_routers() -> list[ControllerRouterHandler]:
    return [static_files_router(), tenant_portal_router(), console_router()]
