"""Which API-key scopes may call which route: one table, read by the API's guard.

``admin`` may call everything and is the only scope that manages keys. ``read`` may call
every GET but the two that reveal signing secrets (a read key is what dashboards and
support tools hold; a signing secret lets its holder forge webhooks). ``publish`` may
publish and read messages. Every route of ``/api/v1`` has its line here:
tests/api/test_scopes.py fails for a route without one, and the guard refuses it.
"""

ADMIN, PUBLISH, READ = "admin", "publish", "read"
SCOPES = (ADMIN, PUBLISH, READ)

_ADMIN_ONLY: frozenset[str] = frozenset({ADMIN})
_READERS = frozenset({ADMIN, READ})
_PUBLISHERS = frozenset({ADMIN, PUBLISH})
_MESSAGE_READERS = frozenset({ADMIN, READ, PUBLISH})

_T = "/api/v1/tenants/{tenant}"
_E = _T + "/endpoints/{endpoint}"
_M = _T + "/messages/{message}"
_OPERATIONAL = "/api/v1/operational-endpoints"

# (method, route template as Litestar names it) → the scopes that may call it.
ROUTE_SCOPES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/tenants"): _READERS,
    ("POST", "/api/v1/tenants"): _ADMIN_ONLY,
    ("GET", _T): _READERS,
    ("PATCH", _T): _ADMIN_ONLY,
    ("DELETE", _T): _ADMIN_ONLY,
    ("GET", "/api/v1/event-types"): _READERS,
    ("POST", "/api/v1/event-types"): _ADMIN_ONLY,
    ("GET", "/api/v1/event-types/{event_type}"): _READERS,
    ("PATCH", "/api/v1/event-types/{event_type}"): _ADMIN_ONLY,
    ("DELETE", "/api/v1/event-types/{event_type}"): _ADMIN_ONLY,
    ("GET", _T + "/endpoints"): _READERS,
    ("POST", _T + "/endpoints"): _ADMIN_ONLY,
    ("GET", _E): _READERS,
    ("PATCH", _E): _ADMIN_ONLY,
    ("DELETE", _E): _ADMIN_ONLY,
    ("GET", _E + "/secret"): _ADMIN_ONLY,
    ("POST", _E + "/secret/rotate"): _ADMIN_ONLY,
    ("GET", _E + "/stats"): _READERS,
    ("GET", _E + "/attempts"): _READERS,
    ("POST", _E + "/test"): _ADMIN_ONLY,
    ("POST", _E + "/recover"): _ADMIN_ONLY,
    ("GET", _T + "/messages"): _MESSAGE_READERS,
    ("POST", _T + "/messages"): _PUBLISHERS,
    ("GET", _M): _MESSAGE_READERS,
    ("GET", _M + "/deliveries"): _MESSAGE_READERS,
    ("GET", _M + "/attempts"): _MESSAGE_READERS,
    ("POST", _M + "/endpoints/{endpoint}/resend"): _ADMIN_ONLY,
    ("POST", _T + "/portal-access"): _ADMIN_ONLY,
    ("POST", _T + "/portal-access/revoke"): _ADMIN_ONLY,
    ("GET", "/api/v1/project"): _READERS,
    ("PATCH", "/api/v1/project"): _ADMIN_ONLY,
    ("POST", "/api/v1/replays"): _ADMIN_ONLY,
    ("GET", "/api/v1/replays/{replay_id}"): _READERS,
    ("GET", _OPERATIONAL): _READERS,
    ("POST", _OPERATIONAL): _ADMIN_ONLY,
    ("GET", _OPERATIONAL + "/{endpoint}"): _READERS,
    ("PATCH", _OPERATIONAL + "/{endpoint}"): _ADMIN_ONLY,
    ("DELETE", _OPERATIONAL + "/{endpoint}"): _ADMIN_ONLY,
    ("GET", _OPERATIONAL + "/{endpoint}/secret"): _ADMIN_ONLY,
    ("POST", _OPERATIONAL + "/{endpoint}/secret/rotate"): _ADMIN_ONLY,
    ("GET", "/api/v1/api-keys"): _ADMIN_ONLY,
    ("POST", "/api/v1/api-keys"): _ADMIN_ONLY,
    ("GET", "/api/v1/api-keys/{key_id}"): _ADMIN_ONLY,
    ("DELETE", "/api/v1/api-keys/{key_id}"): _ADMIN_ONLY,
    ("POST", "/api/v1/api-keys/{key_id}/rotate"): _ADMIN_ONLY,
}


def allowed_scopes(method: str, route: str) -> frozenset[str]:
    """The scopes that may call ``method route``; only ``admin`` for a route not in the
    table (a mistake the tests catch, refused for other keys meanwhile)."""
    return ROUTE_SCOPES.get((method, route), _ADMIN_ONLY)
