"""The Litestar application: every domain's router listed once, one error renderer."""

import os
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.api_keys.controllers import ApiKeyController
from app.attempts.controllers import AttemptController
from app.auth import finish_background, provide_caller, require_scope
from app.config import Settings, load_settings
from app.db.session import Database, commit, rollback
from app.endpoints.controllers import EndpointController
from app.endpoints.test_event import TestEventController
from app.errors import DependencyUnavailable
from app.errors_render import render_exception
from app.event_types.controllers import EventTypeController
from app.health import HealthController
from app.landing import LandingController
from app.messages.batcher import publish_batcher
from app.messages.controllers import MessageController
from app.metrics import AttemptTotals
from app.operational.controllers import OperationalEndpointController
from app.portal_access.controllers import PortalAccessController
from app.projects.controllers import ProjectController
from app.replays.controllers import RecoverController, ReplayController
from app.secretbox import SecretBox, secret_box_for
from app.tenants.controllers import TenantController
from portal.routers import web_routers


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed (then its jobs sent) before the reply is sent."""
    database: Database = state.database
    async with database.session() as session:
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise
        await commit(session)


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_secret_box(state: State) -> SecretBox:
    """The app's one ``SecretBox`` (HKDF runs once, in ``create_app``, not per request)."""
    box: SecretBox | None = state.secret_box
    if box is None:
        raise DependencyUnavailable(
            "HERALD_SECRET_KEY is not set, so endpoint secrets cannot be sealed or opened"
        )
    return box


API_CONTROLLERS: list[Any] = [
    TenantController,
    EventTypeController,
    EndpointController,
    ProjectController,
    MessageController,
    AttemptController,
    PortalAccessController,
    TestEventController,
    ReplayController,
    RecoverController,
    OperationalEndpointController,
    ApiKeyController,
]


def create_app(
    settings: Settings, database: Database, *, extra_routers: list[Any] | None = None
) -> Litestar:
    """The ASGI app over ``database`` (which owns the job sender) and ``settings``."""
    api = Router(
        path="/api/v1",
        route_handlers=API_CONTROLLERS,
        guards=[require_scope],
        dependencies={"caller": Provide(provide_caller)},
        security=[{"bearer": []}],
    )

    publisher = publish_batcher(database, settings)

    async def dispose_database() -> None:
        await publisher.close()
        await finish_background()
        await database.dispose()

    return Litestar(
        route_handlers=[
            api,
            HealthController,
            LandingController,
            *web_routers(),
            *(extra_routers or []),
        ],
        dependencies={
            "session": Provide(provide_session),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "secret_box": Provide(provide_secret_box, sync_to_thread=False),
        },
        state=State(
            {
                "settings": settings,
                "database": database,
                "secret_box": secret_box_for(settings),
                "publisher": publisher,
                "attempt_totals": AttemptTotals(),
            }
        ),
        exception_handlers={Exception: render_exception},
        request_max_body_size=settings.max_payload_bytes * 2 + 65_536,
        openapi_config=OpenAPIConfig(
            title="Herald",
            version=__version__,
            path="/schema",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", description="API key")
                }
            ),
        ),
        on_shutdown=[dispose_database],
        debug=False,
    )


def create_app_from_env() -> Litestar:
    """Factory for ``uvicorn --factory`` in ``herald api``: the process boundary reads env."""
    from workers.queue import sender_for

    settings = load_settings(os.environ)
    return create_app(settings, Database(settings.database_url, sender=sender_for(settings)))
