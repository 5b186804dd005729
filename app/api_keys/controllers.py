import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.api_keys import service
from app.api_keys.schemas import ApiKeyIn, ApiKeyOut, NewApiKeyOut, RotateIn
from app.db.models import ApiKey
from app.deps import CallerDep, DbSession
from app.pagination import ListOut, PageRequest, list_out


def api_key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        scopes=list(key.scopes),
        prefix=key.prefix,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def new_api_key_out(new: service.NewKey) -> NewApiKeyOut:
    return NewApiKeyOut(**msgspec.structs.asdict(api_key_out(new.row)), key=new.key)


class ApiKeyController(Controller):
    """The project's API keys (``admin`` scope only, ``app.scopes``)."""

    path = "/api-keys"
    tags = ["api-keys"]

    @post()
    async def create_api_key(
        self, session: DbSession, caller: CallerDep, data: JSONBody[ApiKeyIn]
    ) -> NewApiKeyOut:
        """A new key; its secret is in this reply only."""
        new = await service.create_key(
            session, caller.project_id, data.name, data.scopes, data.expires_at
        )
        return new_api_key_out(new)

    @get()
    async def list_api_keys(
        self,
        session: DbSession,
        caller: CallerDep,
        limit: FromQuery[int | None] = None,
        iterator: FromQuery[str | None] = None,
    ) -> ListOut[ApiKeyOut]:
        page = await service.list_keys(
            session, caller.project_id, PageRequest.parse(limit, iterator)
        )
        return list_out(page, api_key_out)

    @get("/{key_id:str}")
    async def get_api_key(
        self, session: DbSession, caller: CallerDep, key_id: FromPath[str]
    ) -> ApiKeyOut:
        return api_key_out(await service.get_key(session, caller.project_id, key_id))

    @delete("/{key_id:str}")
    async def revoke_api_key(
        self, session: DbSession, caller: CallerDep, key_id: FromPath[str]
    ) -> None:
        """Revoke: every api process refuses the key within a second."""
        await service.revoke_key(session, caller.project_id, key_id)

    @post("/{key_id:str}/rotate", status_code=201)
    async def rotate_api_key(
        self,
        session: DbSession,
        caller: CallerDep,
        key_id: FromPath[str],
        data: JSONBody[RotateIn | None] = None,
    ) -> NewApiKeyOut:
        """A new key with the same name and scopes; the old one stops after the overlap."""
        overlap_s = data.overlap_s if data is not None else 0
        return new_api_key_out(
            await service.rotate_key(session, caller.project_id, key_id, overlap_s)
        )
