"""Herald's replies as JSON, for mocked routes (fields as the server sends them)."""

from typing import Any


def tenant_json(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "tnt_01",
        "uid": "acme",
        "name": "Acme",
        "metadata": {},
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        **overrides,
    }


def message_json(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "tenant_id": "tnt_01",
        "event_type": "invoice.paid",
        "event_id": None,
        "channels": None,
        "created_at": "2026-01-02T03:04:05Z",
        **overrides,
    }


def endpoint_json(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "ep_01",
        "tenant_id": "tnt_01",
        "url": "https://example.com/hook",
        "description": "",
        "event_types": None,
        "channels": None,
        "rate_limit": None,
        "headers": {},
        "metadata": {},
        "paused": False,
        "disabled": False,
        "disabled_reason": None,
        "status": "active",
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        **overrides,
    }


def page_json(data: list[dict[str, Any]], iterator: str | None) -> dict[str, Any]:
    return {"data": data, "iterator": iterator, "done": iterator is None}
