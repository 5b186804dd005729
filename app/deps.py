"""Names of the request-scoped dependencies, typed for handlers' signatures.

Litestar wants injected parameters marked explicitly; handlers write
``session: DbSession, caller: CallerDep`` and get the request's transaction and caller;
``secret_box: SecretBoxDep`` is the app's one ``SecretBox`` (built once, at start).
"""

from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Caller
from app.config import Settings
from app.secretbox import SecretBox

# SkipValidation: these are our own objects, not client input; the signature model would
# otherwise try to convert them with msgspec.
DbSession = NamedDependency[SkipValidation[AsyncSession]]
CallerDep = NamedDependency[SkipValidation[Caller]]
SettingsDep = NamedDependency[SkipValidation[Settings]]
SecretBoxDep = NamedDependency[SkipValidation[SecretBox]]
