"""Each resource method sends the request the contract describes, the same from both clients,
and its reply becomes a typed object."""

import inspect
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

import httpx
import pytest
import respx
from herald_sdk import (
    AsyncHerald,
    AsyncPager,
    Branding,
    EndpointSecret,
    Herald,
    HeraldError,
    PortalAccess,
    Project,
    SyncPager,
    Tenant,
)
from herald_sdk.resources.messages import Messages

SINCE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
T = "/tenants/acme"
EP = T + "/endpoints/ep_1"
MSG = T + "/messages/msg_1"

# Any reply Herald might send, merged into one object: every model can be built from it,
# which also shows that fields a model does not know are ignored.
EVERYTHING: dict[str, Any] = {
    "id": "x_1", "uid": "acme", "name": "Acme", "metadata": {}, "tenant_id": "tnt_1",
    "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:05+00:00",
    "url": "https://example.com", "description": "", "event_types": None, "channels": None,
    "rate_limit": None, "headers": {}, "paused": False, "disabled": False,
    "disabled_reason": None, "status": "active", "key": "whsec_c2VjcmV0", "public_key": None,
    "since": "2026-01-01T00:00:00Z", "counts": {"succeeded": 3}, "success_rate": 1.0,
    "event_type": "invoice.paid", "event_id": None, "payload": {"a": 1},
    "endpoint_id": "ep_1", "message_id": "msg_1", "attempt_count": 1,
    "next_attempt_at": None, "last_status_code": 200, "response_status_code": 200,
    "response_body": "ok", "duration_ms": 12, "error_kind": None, "error": None,
    "trigger": "scheduled", "token": "tok", "expires_at": "2026-01-02T04:04:05Z",
    "total": 3, "retry_schedule": [0, 5], "secret_overlap_seconds": 86400,
    "disable_after_seconds": 432000, "retention_days": 30, "branding": {"name": "Acme"},
    "schema": None, "archived": False,
    "data": [], "iterator": None, "done": True,
}  # fmt: skip

# (resource, method, args, kwargs) → (HTTP method, path, JSON body or None, query)
CASES: list[tuple[str, str, tuple[Any, ...], dict[str, Any], str, str, Any, dict[str, str]]] = [
    ("tenants", "create", ("Acme",), {"uid": "acme"}, "POST", "/tenants",
     {"name": "Acme", "uid": "acme"}, {}),
    ("tenants", "list", (), {"limit": 10}, "GET", "/tenants", None, {"limit": "10"}),
    ("tenants", "get", ("a@b:1",), {}, "GET", "/tenants/a%40b%3A1", None, {}),
    ("tenants", "update", ("acme",), {"metadata": {"plan": "pro"}}, "PATCH", T,
     {"metadata": {"plan": "pro"}}, {}),
    ("tenants", "delete", ("acme",), {}, "DELETE", T, None, {}),
    ("event_types", "create", ("invoice.paid",), {"schema": {"type": "object"}}, "POST",
     "/event-types", {"name": "invoice.paid", "schema": {"type": "object"}}, {}),
    ("event_types", "list", (), {"include_archived": True}, "GET", "/event-types", None,
     {"include_archived": "true"}),
    ("event_types", "get", ("invoice.paid",), {}, "GET", "/event-types/invoice.paid", None, {}),
    ("event_types", "update", ("invoice.paid",), {"schema": None}, "PATCH",
     "/event-types/invoice.paid", {"schema": None}, {}),
    ("event_types", "delete", ("invoice.paid",), {}, "DELETE", "/event-types/invoice.paid",
     None, {}),
    ("endpoints", "create", ("acme", "https://example.com/h"),
     {"event_types": ("invoice.paid",), "rate_limit": 5, "paused": True,
      "secret": "whsec_c2VjcmV0"}, "POST",
     T + "/endpoints", {"url": "https://example.com/h", "event_types": ["invoice.paid"],
                        "rate_limit": 5, "paused": True, "secret": "whsec_c2VjcmV0"}, {}),
    ("endpoints", "list", ("acme",), {}, "GET", T + "/endpoints", None, {}),
    ("endpoints", "get", ("acme", "ep_1"), {}, "GET", EP, None, {}),
    ("endpoints", "update", ("acme", "ep_1"), {"channels": None, "rate_limit": None}, "PATCH",
     EP, {"channels": None, "rate_limit": None}, {}),
    ("endpoints", "delete", ("acme", "ep_1"), {}, "DELETE", EP, None, {}),
    ("endpoints", "pause", ("acme", "ep_1"), {}, "PATCH", EP, {"paused": True}, {}),
    ("endpoints", "resume", ("acme", "ep_1"), {}, "PATCH", EP, {"paused": False}, {}),
    ("endpoints", "disable", ("acme", "ep_1"), {}, "PATCH", EP, {"disabled": True}, {}),
    ("endpoints", "enable", ("acme", "ep_1"), {}, "PATCH", EP, {"disabled": False}, {}),
    ("endpoints", "get_secret", ("acme", "ep_1"), {}, "GET", EP + "/secret", None, {}),
    ("endpoints", "rotate_secret", ("acme", "ep_1"), {}, "POST", EP + "/secret/rotate", {}, {}),
    ("endpoints", "recover", ("acme", "ep_1"), {"since": SINCE}, "POST", EP + "/recover",
     {"since": "2026-01-02T03:04:05+00:00"}, {}),
    ("endpoints", "send_test", ("acme", "ep_1"), {"event_type": "invoice.paid"}, "POST",
     EP + "/test", {"event_type": "invoice.paid"}, {}),
    ("endpoints", "stats", ("acme", "ep_1"), {"since": SINCE}, "GET", EP + "/stats", None,
     {"since": "2026-01-02T03:04:05+00:00"}),
    ("endpoints", "attempts", ("acme", "ep_1"), {"status": "failed"}, "GET", EP + "/attempts",
     None, {"status": "failed"}),
    ("messages", "publish", ("acme", "invoice.paid", {"a": 1}),
     {"event_id": "evt_1", "channels": ["eu"], "headers": {"x-k": "v"}}, "POST",
     T + "/messages", {"event_type": "invoice.paid", "payload": {"a": 1}, "event_id": "evt_1",
                       "channels": ["eu"], "headers": {"x-k": "v"}}, {}),
    ("messages", "list", ("acme",), {"event_type": "invoice.paid", "until": SINCE}, "GET",
     T + "/messages", None, {"event_type": "invoice.paid", "until": "2026-01-02T03:04:05+00:00"}),
    ("messages", "get", ("acme", "msg_1"), {}, "GET", MSG, None, {}),
    ("messages", "deliveries", ("acme", "msg_1"), {}, "GET", MSG + "/deliveries", None, {}),
    ("messages", "attempts", ("acme", "msg_1"), {}, "GET", MSG + "/attempts", None, {}),
    ("messages", "resend", ("acme", "msg_1", "ep_1"), {}, "POST",
     MSG + "/endpoints/ep_1/resend", None, {}),
    ("portal_access", "create", ("acme",), {"expires_in_s": 600, "read_only": True}, "POST",
     T + "/portal-access", {"expires_in": 600, "read_only": True}, {}),
    ("portal_access", "revoke", ("acme",), {}, "POST", T + "/portal-access/revoke", None, {}),
    ("replays", "create", (), {"since": SINCE, "tenant": "acme"}, "POST", "/replays",
     {"since": "2026-01-02T03:04:05+00:00", "tenant": "acme", "status": ["failed", "exhausted"]},
     {}),
    ("replays", "get", ("rpl_1",), {}, "GET", "/replays/rpl_1", None, {}),
    ("project", "get", (), {}, "GET", "/project", None, {}),
    ("project", "update", (), {"retry_schedule": (0, 60), "branding": Branding(name="Acme")},
     "PATCH", "/project", {"retry_schedule": [0, 60], "branding": {"name": "Acme"}}, {}),
    ("project", "update", (), {"max_endpoints_per_tenant": 80}, "PATCH", "/project",
     {"max_endpoints_per_tenant": 80}, {}),
]  # fmt: skip

CASE_IDS = [f"{resource}.{method}" for resource, method, *_ in CASES]


def record_everything(respx_mock: respx.MockRouter) -> respx.Route:
    return respx_mock.route(host="herald.test").respond(200, json=EVERYTHING)


def assert_sent(request: httpx.Request, case: "Case") -> None:
    assert request.method == case.method
    assert request.url.raw_path.decode().split("?")[0] == "/api/v1" + case.path
    sent_body = json.loads(request.content) if request.content else None
    assert sent_body == case.body
    assert dict(request.url.params) == case.params
    assert request.headers["authorization"] == "Bearer hk_test"
    assert request.headers["user-agent"].startswith("herald-sdk-python/")


class Case(NamedTuple):
    resource: str
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    method: str
    path: str
    body: Any
    params: dict[str, str]


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(request: pytest.FixtureRequest) -> Case:
    return Case(*request.param)


def test_each_method_sends_the_contracts_request(
    herald: Herald, respx_mock: respx.MockRouter, case: Case
) -> None:
    # Given Herald answers anything
    route = record_everything(respx_mock)

    # When the method is called (and a list walked)
    result = getattr(getattr(herald, case.resource), case.name)(*case.args, **case.kwargs)
    if isinstance(result, SyncPager):
        list(result)

    # Then exactly the contract's request went out
    assert route.call_count == 1
    assert_sent(route.calls.last.request, case)


async def test_each_method_sends_the_same_request_async(
    async_herald: AsyncHerald, respx_mock: respx.MockRouter, case: Case
) -> None:
    route = record_everything(respx_mock)

    result = getattr(getattr(async_herald, case.resource), case.name)(*case.args, **case.kwargs)
    if isinstance(result, AsyncPager):
        [item async for item in result]
    else:
        await result

    assert route.call_count == 1
    assert_sent(route.calls.last.request, case)


def test_methods_show_the_signature_users_call() -> None:
    with Herald(api_key="hk_test") as herald:
        shown = inspect.signature(herald.messages.publish)
    assert list(shown.parameters)[:3] == ["tenant", "event_type", "payload"]
    assert herald.messages.publish.__doc__ == Messages.publish.__doc__


def test_replies_become_typed_objects(herald: Herald, respx_mock: respx.MockRouter) -> None:
    # Given Herald's reply with more fields than the model knows
    record_everything(respx_mock)

    # When getting a tenant and the project
    tenant = herald.tenants.get("acme")
    project = herald.project.get()

    # Then they are typed, timestamps are aware datetimes, nested objects are models
    assert isinstance(tenant, Tenant)
    assert tenant.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert tenant.raw["trigger"] == "scheduled"  # the whole reply is kept
    assert isinstance(project, Project)
    assert project.branding == Branding(name="Acme")
    assert project.retry_schedule == [0, 5]


def test_a_reply_missing_a_contract_field_is_an_error() -> None:
    with pytest.raises(HeraldError, match="Tenant without 'uid'"):
        Tenant.from_json({"id": "tnt_1", "name": "Acme", "created_at": "2026-01-01T00:00:00Z"})


def test_credentials_stay_out_of_reprs() -> None:
    secret = EndpointSecret.from_json({"key": "whsec_c2VjcmV0"})
    access = PortalAccess.from_json(
        {"url": "https://h/p?t=tok", "token": "tok", "expires_at": "2026-01-01T00:00:00Z"}
    )

    assert "whsec_" not in repr(secret)
    assert "tok" not in repr(access)
    assert secret.key == "whsec_c2VjcmV0"


def test_update_with_nothing_given_sends_an_empty_patch(
    herald: Herald, respx_mock: respx.MockRouter
) -> None:
    route = record_everything(respx_mock)

    herald.endpoints.update("acme", "ep_1")

    assert json.loads(route.calls.last.request.content) == {}


def test_a_given_http_client_is_used_and_left_open(respx_mock: respx.MockRouter) -> None:
    # Given the producer's own httpx client
    route = record_everything(respx_mock)
    http_client = httpx.Client(headers={"x-trace": "t1"})

    # When the SDK is closed after using it
    with Herald(api_key="hk_test", base_url="http://herald.test", http_client=http_client) as h:
        h.project.get()

    # Then the client's own headers went out and it is still open
    assert route.calls.last.request.headers["x-trace"] == "t1"
    assert not http_client.is_closed
    http_client.close()
