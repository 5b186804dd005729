"""``portal_access``: links that let a tenant into its own portal."""

from herald_sdk._operations import R, Resource, operation
from herald_sdk._request import Request, body, parse_model, parse_nothing, path
from herald_sdk.models import PortalAccess


class PortalAccessResource(Resource[R]):
    @operation
    def create(
        self, tenant: str, *, expires_in_s: int | None = None, read_only: bool | None = None
    ) -> Request[PortalAccess]:
        """A portal link for ``tenant``, valid ``expires_in_s`` seconds (server default if
        None); ``read_only`` hides the buttons that change anything."""
        return Request(
            "POST",
            path("/tenants/{}/portal-access", tenant),
            parse_model(PortalAccess),
            json=body(expires_in=expires_in_s, read_only=read_only),
        )

    @operation
    def revoke(self, tenant: str) -> Request[None]:
        """End every open portal session of ``tenant`` and refuse every link minted so far;
        links minted afterwards work as usual."""
        return Request("POST", path("/tenants/{}/portal-access/revoke", tenant), parse_nothing)
