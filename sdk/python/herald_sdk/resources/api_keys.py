"""``api_keys``: the project's API keys (an ``admin`` key's business only)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from herald_sdk._operations import R, Resource, list_operation, operation
from herald_sdk._request import ListRequest, Request, body, parse_model, parse_nothing, path, query
from herald_sdk.models import ApiKey, NewApiKey

Scope = Literal["admin", "publish", "read"]


class ApiKeys(Resource[R]):
    @operation
    def create(
        self,
        name: str,
        *,
        scopes: Sequence[Scope] = ("admin",),
        expires_at: datetime | None = None,
    ) -> Request[NewApiKey]:
        """A new key; ``.key`` holds the secret, shown in this reply only."""
        return Request(
            "POST",
            "/api-keys",
            parse_model(NewApiKey),
            json=body(name=name, scopes=list(scopes), expires_at=expires_at),
        )

    @list_operation
    def list(self, *, limit: int | None = None) -> ListRequest[ApiKey]:
        """Every key of the project, revoked ones included."""
        return ListRequest("/api-keys", ApiKey, query(limit=limit))

    @operation
    def get(self, key_id: str) -> Request[ApiKey]:
        return Request("GET", path("/api-keys/{}", key_id), parse_model(ApiKey))

    @operation
    def revoke(self, key_id: str) -> Request[None]:
        """Revoke the key: every api process refuses it within a second. 409 for the
        project's last working admin key."""
        return Request("DELETE", path("/api-keys/{}", key_id), parse_nothing)

    @operation
    def rotate(self, key_id: str, *, overlap_s: int = 0) -> Request[NewApiKey]:
        """A new key with the same name and scopes; the old one keeps working for
        ``overlap_s`` seconds (at most a week)."""
        return Request(
            "POST",
            path("/api-keys/{}/rotate", key_id),
            parse_model(NewApiKey),
            json=body(overlap_s=overlap_s),
        )
