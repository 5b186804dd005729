"""Names of the request-scoped dependencies, typed for handlers' signatures.

Litestar wants injected parameters marked explicitly; handlers write
``session: DbSession, caller: CallerDep`` and get the request's transaction and caller.
"""

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Caller
from app.config import Settings

DbSession = NamedDependency[AsyncSession]
CallerDep = NamedDependency[Caller]
SettingsDep = NamedDependency[Settings]
