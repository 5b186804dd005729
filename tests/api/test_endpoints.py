from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from app.asgi import create_app
from app.config import Settings
from app.db.base import utcnow
from app.db.models import Delivery, Endpoint, Message
from app.db.session import Database, commit
from app.delivery.signing import new_key
from app.ids import new_id
from tests.conftest import ProjectKey, make_project

RECEIVER = "http://127.0.0.1:9/hooks"


@pytest.fixture
async def tenant(api: httpx.AsyncClient) -> str:
    reply = await api.post("/api/v1/tenants", json={"uid": "cust", "name": "Customer"})
    assert reply.status_code == 201, reply.text
    return "cust"


def endpoints_path(tenant: str = "cust") -> str:
    return f"/api/v1/tenants/{tenant}/endpoints"


async def create(api: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    reply = await api.post(endpoints_path(), json={"url": RECEIVER} | fields)
    assert reply.status_code == 201, reply.text
    body: dict[str, object] = reply.json()
    return body


async def test_endpoint_crud(api: httpx.AsyncClient, tenant: str) -> None:
    # Given an endpoint with filters, a rate limit, custom headers and metadata
    created = await create(
        api,
        description="billing",
        event_types=["invoice.paid"],
        channels=["eu"],
        rate_limit=50,
        headers={"X-Team": "billing"},
        metadata={"owner": "ops"},
    )
    assert str(created["id"]).startswith("ep_")
    assert created["event_types"] == ["invoice.paid"] and created["channels"] == ["eu"]
    assert created["rate_limit"] == 50 and created["headers"] == {"X-Team": "billing"}
    assert created["metadata"] == {"owner": "ops"}
    assert created["status"] == "active" and created["disabled_reason"] is None
    path = f"{endpoints_path()}/{created['id']}"

    # When it is read (through the tenant's uid and id), listed and patched
    tenant_id = created["tenant_id"]
    by_uid = (await api.get(path)).json()
    by_id = (await api.get(f"{endpoints_path(str(tenant_id))}/{created['id']}")).json()
    listed = (await api.get(endpoints_path())).json()
    patched = await api.patch(
        path, json={"event_types": None, "rate_limit": None, "description": "all of it"}
    )

    # Then the reads agree and the patch shows
    assert by_uid == by_id == created
    assert [e["id"] for e in listed["data"]] == [created["id"]] and listed["done"] is True
    assert patched.status_code == 200, patched.text
    assert patched.json()["event_types"] is None and patched.json()["rate_limit"] is None
    assert patched.json()["description"] == "all of it"
    assert patched.json()["channels"] == ["eu"]

    # And deleting it makes it a 404
    assert (await api.delete(path)).status_code == 204
    assert (await api.get(path)).status_code == 404
    assert (await api.get(endpoints_path())).json()["data"] == []


async def test_pause_disable_and_enable(
    api: httpx.AsyncClient, tenant: str, database: Database
) -> None:
    # Given an endpoint that has been failing
    endpoint = await create(api)
    path = f"{endpoints_path()}/{endpoint['id']}"
    async with database.session() as session:
        await session.execute(
            update(Endpoint)
            .where(Endpoint.id == endpoint["id"])
            .values(failing_since=utcnow(), consecutive_failures=7)
        )
        await commit(session)
    assert (await api.get(path)).json()["status"] == "failing"

    # When it is paused, then disabled
    paused = (await api.patch(path, json={"paused": True})).json()
    disabled = (await api.patch(path, json={"disabled": True})).json()

    # Then its status says so, disabled winning over paused
    assert paused["paused"] is True and paused["status"] == "paused"
    assert disabled["disabled"] is True and disabled["status"] == "disabled"
    assert disabled["disabled_reason"]

    # And enabling and resuming clears the reason and the failure history
    enabled = (await api.patch(path, json={"disabled": False, "paused": False})).json()
    assert enabled["status"] == "active" and enabled["disabled_reason"] is None
    async with database.session() as session:
        row = await session.get(Endpoint, endpoint["id"])
        assert row is not None
        assert row.failing_since is None and row.consecutive_failures == 0


async def test_created_disabled(api: httpx.AsyncClient, tenant: str) -> None:
    endpoint = await create(api, disabled=True)
    assert endpoint["status"] == "disabled" and endpoint["disabled"] is True


async def test_created_paused(api: httpx.AsyncClient, tenant: str) -> None:
    endpoint = await create(api, paused=True)
    assert endpoint["status"] == "paused" and endpoint["paused"] is True
    assert endpoint["disabled_reason"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://10.0.0.1/"}, "url"),
        ({"url": "http://127.0.0.1/" + "a" * 2000}, "url"),
        ({"secret": "whsec_nope!"}, "secret"),
        ({"secret": "hunter2"}, "secret"),
        ({"headers": {"Content-Type": "text/plain"}}, "headers"),
        ({"headers": {"webhook-signature": "v1,forged"}}, "headers"),
        ({"headers": {"Bad Name": "x"}}, "headers"),
        ({"headers": {"X-Ok": "line\r\nbreak"}}, "headers"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"rate_limit": 10_001}, "rate_limit"),
        ({"event_types": ["has space"]}, "event_types"),
    ],
)
async def test_invalid_fields_are_422_with_field_names(
    api: httpx.AsyncClient, tenant: str, fields: dict[str, object], field: str
) -> None:
    reply = await api.post(endpoints_path(), json={"url": RECEIVER} | fields)
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["code"] == "validation_failed"
    assert any(key == field or key.startswith(f"{field}[") for key in body["fields"]), body
    assert (await api.get(endpoints_path())).json()["data"] == []


async def test_unknown_field_is_422(api: httpx.AsyncClient, tenant: str) -> None:
    reply = await api.post(endpoints_path(), json={"url": RECEIVER, "colour": "red"})
    assert reply.status_code == 422 and "colour" in reply.json()["detail"]


async def test_patch_is_validated_too(api: httpx.AsyncClient, tenant: str) -> None:
    endpoint = await create(api)
    path = f"{endpoints_path()}/{endpoint['id']}"
    for body, field in [
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"headers": {"Host": "evil"}}, "headers"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"secret": new_key()}, "secret"),
    ]:
        reply = await api.patch(path, json=body)
        assert reply.status_code == 422, reply.text
        assert field in reply.json()["fields"] or field in reply.json()["detail"]
    assert (await api.get(path)).json() == endpoint


@pytest.fixture
async def strict_api(
    settings: Settings, database: Database, project: ProjectKey
) -> AsyncIterator[httpx.AsyncClient]:
    """The API as in production: no private network opened to endpoints, loopback included."""
    app = create_app(settings.with_changes(allowed_private_networks=()), database)
    async with AsyncTestClient(app=app, base_url="http://herald.test") as client:
        client.headers.update(project.headers)
        await client.post("/api/v1/tenants", json={"uid": "cust", "name": "Customer"})
        yield client


LITERAL_REFUSAL = "the destination address is in a forbidden network"


@pytest.mark.parametrize(
    ("url", "says", "address"),
    [
        ("http://127.0.0.1:9/hooks", f"{LITERAL_REFUSAL} (loopback)", "127.0.0.1"),
        ("http://0x7f.1/", f"{LITERAL_REFUSAL} (loopback)", "127.0.0.1"),
        ("http://[::1]:8080/", f"{LITERAL_REFUSAL} (loopback)", "::1"),
        ("http://10.0.0.1/", f"{LITERAL_REFUSAL} (private)", "10.0.0.1"),
        ("http://169.254.169.254/", "cloud metadata", "169.254.169.254"),
        ("http://[::ffff:10.1.2.3]/", "IPv4-mapped IPv6 embedding a private", "10.1.2.3"),
        ("http://100.64.0.1/", "CGNAT", "100.64.0.1"),
        ("gopher://127.0.0.1/", "only http and https", "127.0.0.1"),
    ],
)
async def test_ssrf_refusals_say_why(
    strict_api: httpx.AsyncClient, url: str, says: str, address: str
) -> None:
    # Given production settings, when an endpoint with a forbidden destination is created
    reply = await strict_api.post(endpoints_path(), json={"url": url})

    # Then it is a 422 on url whose message names the range, never the address
    assert reply.status_code == 422, reply.text
    assert says in reply.json()["fields"]["url"], reply.json()
    assert address not in reply.text


async def test_a_name_resolving_to_a_forbidden_address_is_refused_without_the_address(
    strict_api: httpx.AsyncClient,
) -> None:
    # Given production settings and a name the system resolver answers with loopback
    # addresses (localhost, from /etc/hosts: no DNS packet leaves the machine)
    says = "localhost resolves to an address in a forbidden network (loopback)"

    # When an endpoint is created with it, or an endpoint is moved to it
    created = await strict_api.post(endpoints_path(), json={"url": "http://localhost:8080/"})
    endpoint = await strict_api.post(endpoints_path(), json={"url": "https://93.184.216.34/"})
    moved = await strict_api.patch(
        f"{endpoints_path()}/{endpoint.json()['id']}", json={"url": "http://localhost/"}
    )

    # Then both are 422 on url naming the host and the range, and no address it resolved to
    for reply in (created, moved):
        assert reply.status_code == 422, reply.text
        assert reply.json()["fields"] == {"url": says}
        assert "127.0.0.1" not in reply.text and "::1" not in reply.text


async def test_allowed_private_networks_open_loopback(api: httpx.AsyncClient, tenant: str) -> None:
    # The test settings open loopback (as `herald dev` does), but not 10/8
    assert (await api.post(endpoints_path(), json={"url": RECEIVER})).status_code == 201
    assert (await api.post(endpoints_path(), json={"url": "http://10.0.0.1/"})).status_code == 422


async def test_pagination_round_trip(api: httpx.AsyncClient, tenant: str) -> None:
    created = {(await create(api, description=f"e{i}"))["id"] for i in range(5)}
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = (await api.get(endpoints_path(), params=params)).json()
        seen += [e["id"] for e in page["data"]]
        if page["done"]:
            break
        params["iterator"] = page["iterator"]
    assert seen == sorted(created, reverse=True)
    assert (await api.get(endpoints_path(), params={"limit": 0})).status_code == 422


async def test_endpoints_are_per_tenant(api: httpx.AsyncClient, tenant: str) -> None:
    # Given an endpoint of one tenant and a second tenant
    endpoint = await create(api)
    await api.post("/api/v1/tenants", json={"uid": "other", "name": "Other"})

    # Then the second tenant lists none and cannot reach it
    assert (await api.get(endpoints_path("other"))).json()["data"] == []
    assert (await api.get(f"{endpoints_path('other')}/{endpoint['id']}")).status_code == 404
    assert (await api.get(endpoints_path("nobody"))).status_code == 404


def every_route(endpoint_id: str) -> list[tuple[str, str, object]]:
    one = f"{endpoints_path()}/{endpoint_id}"
    return [
        ("POST", endpoints_path(), {"url": RECEIVER}),
        ("GET", endpoints_path(), None),
        ("GET", one, None),
        ("PATCH", one, {"description": "x"}),
        ("GET", f"{one}/secret", None),
        ("POST", f"{one}/secret/rotate", {}),
        ("GET", f"{one}/stats", None),
        ("DELETE", one, None),
    ]


async def test_every_route_needs_a_key(client: httpx.AsyncClient) -> None:
    for method, path, body in every_route("ep_x"):
        reply = await client.request(method, path, json=body)
        assert reply.status_code == 401, (method, path, reply.text)


async def test_another_projects_endpoints_are_404_on_every_route(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    tenant: str,
    database: Database,
    settings: Settings,
) -> None:
    # Given our endpoint, and another project that has a tenant of the same uid
    endpoint = await create(api)
    other = await make_project(database, settings, "other")
    await client.post(
        "/api/v1/tenants", json={"uid": "cust", "name": "Theirs"}, headers=other.headers
    )

    # Then every route, reached with their key, is a 404 (or shows only their own, empty, list)
    for method, path, body in every_route(str(endpoint["id"])):
        reply = await client.request(method, path, json=body, headers=other.headers)
        if (method, path) == ("POST", endpoints_path()):
            assert reply.status_code == 201  # their own tenant "cust"
        elif (method, path) == ("GET", endpoints_path()):
            assert [e["id"] for e in reply.json()["data"]] != [endpoint["id"]]
        else:
            assert reply.status_code == 404, (method, path, reply.text)
            assert reply.json()["code"] == "not_found"

    # And ours is untouched
    assert (await api.get(f"{endpoints_path()}/{endpoint['id']}")).json() == endpoint


async def test_stats_count_deliveries_by_state(
    api: httpx.AsyncClient, tenant: str, database: Database, project: ProjectKey
) -> None:
    # Given an endpoint with deliveries in every state, one of them too old to count
    endpoint = await create(api)
    path = f"{endpoints_path()}/{endpoint['id']}/stats"
    empty = (await api.get(path)).json()
    now = utcnow()
    states = ["pending", "succeeded", "succeeded", "succeeded", "failed", "exhausted"]
    async with database.session() as session:
        for state in [*states, "old"]:
            message = Message(
                id=new_id("msg"),
                project_id=project.project_id,
                tenant_id=str(endpoint["tenant_id"]),
                event_type="invoice.paid",
                payload=b"{}",
            )
            session.add(message)
            await session.flush()
            stale = state == "old"
            session.add(
                Delivery(
                    id=new_id("dlv"),
                    project_id=message.project_id,
                    tenant_id=message.tenant_id,
                    message_id=message.id,
                    endpoint_id=str(endpoint["id"]),
                    status="succeeded" if stale else state,
                    created_at=now - timedelta(days=3 if stale else 0),
                    updated_at=now - timedelta(days=3 if stale else 0),
                )
            )
        await commit(session)

    # When the stats are read for the default window and for a wider one
    recent = (await api.get(path)).json()
    wide = (await api.get(path, params={"since": (now - timedelta(days=7)).isoformat()})).json()

    # Then each state is counted, and the success rate is succeeded over tried
    assert empty["counts"] == {"pending": 0, "succeeded": 0, "failed": 0, "exhausted": 0}
    assert empty["success_rate"] is None
    assert recent["counts"] == {"pending": 1, "succeeded": 3, "failed": 1, "exhausted": 1}
    assert recent["success_rate"] == pytest.approx(3 / 5)
    assert wide["counts"]["succeeded"] == 4
    assert (await api.get(path, params={"since": "yesterday"})).status_code in (400, 422)
