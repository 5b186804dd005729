"""``tenants``: the producer's customers, each with a uid unique in the project."""

from collections.abc import Mapping
from typing import Any

from herald_sdk._operations import R, Resource, list_operation, operation
from herald_sdk._request import (
    NOT_GIVEN,
    ListRequest,
    NotGiven,
    Request,
    body,
    parse_model,
    parse_nothing,
    patch,
    path,
    query,
)
from herald_sdk.models import Tenant


class Tenants(Resource[R]):
    @operation
    def create(
        self, name: str, *, uid: str | None = None, metadata: Mapping[str, Any] | None = None
    ) -> Request[Tenant]:
        """Create a tenant; ``uid`` is your own id for it. 409 if the uid is taken."""
        return Request(
            "POST",
            "/tenants",
            parse_model(Tenant),
            json=body(name=name, uid=uid, metadata=metadata),
        )

    @list_operation
    def list(self, *, limit: int | None = None) -> ListRequest[Tenant]:
        """Every tenant, newest first; ``limit`` is the page size."""
        return ListRequest("/tenants", Tenant, query(limit=limit))

    @operation
    def get(self, tenant: str) -> Request[Tenant]:
        """The tenant by id or uid."""
        return Request("GET", path("/tenants/{}", tenant), parse_model(Tenant))

    @operation
    def update(
        self,
        tenant: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        uid: str | NotGiven = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven = NOT_GIVEN,
    ) -> Request[Tenant]:
        """Change the given fields only."""
        return Request(
            "PATCH",
            path("/tenants/{}", tenant),
            parse_model(Tenant),
            json=patch(name=name, uid=uid, metadata=metadata),
        )

    @operation
    def delete(self, tenant: str) -> Request[None]:
        """Delete the tenant with its endpoints and messages."""
        return Request("DELETE", path("/tenants/{}", tenant), parse_nothing)
