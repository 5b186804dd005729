import httpx
import pytest

from app.db.models import Tenant
from app.db.session import Database, commit
from app.ids import new_id
from tests.conftest import ProjectKey


async def test_tenant_crud_by_id_and_uid(api: httpx.AsyncClient) -> None:
    # Given a tenant created with a uid
    created = await api.post("/api/v1/tenants", json={"uid": "cust-1", "name": "Customer One"})
    assert created.status_code == 201, created.text
    tenant = created.json()
    assert tenant["id"].startswith("tnt_") and tenant["uid"] == "cust-1"

    # When it is read by uid and by id, and renamed
    by_uid = await api.get("/api/v1/tenants/cust-1")
    by_id = await api.get(f"/api/v1/tenants/{tenant['id']}")
    renamed = await api.patch("/api/v1/tenants/cust-1", json={"name": "Renamed"})

    # Then both reads agree and the rename shows
    assert by_uid.json()["id"] == by_id.json()["id"] == tenant["id"]
    assert renamed.json()["name"] == "Renamed"

    # And deleting it makes it a 404
    assert (await api.delete("/api/v1/tenants/cust-1")).status_code == 204
    gone = await api.get("/api/v1/tenants/cust-1")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"


async def test_duplicate_uid_is_a_conflict(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/tenants", json={"uid": "dup", "name": "A"})
    again = await api.post("/api/v1/tenants", json={"uid": "dup", "name": "B"})
    assert again.status_code == 409
    assert again.json()["code"] == "uid_taken"


async def test_invalid_fields_are_422_with_field_names(api: httpx.AsyncClient) -> None:
    reply = await api.post("/api/v1/tenants", json={"uid": "has space", "name": ""})
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["code"] == "validation_failed"
    assert set(body["fields"]) & {"uid", "name"}


async def test_malformed_json_is_400(api: httpx.AsyncClient) -> None:
    reply = await api.post(
        "/api/v1/tenants", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400, reply.text
    assert reply.json()["code"] == "malformed_request"


async def test_missing_or_bad_key_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/tenants")).status_code == 401
    bad = await client.get("/api/v1/tenants", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["code"] == "unauthorized"


async def test_pagination_round_trip(api: httpx.AsyncClient) -> None:
    for i in range(7):
        await api.post("/api/v1/tenants", json={"uid": f"t{i}", "name": f"T{i}"})
    seen: list[str] = []
    iterator = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"iterator": iterator} if iterator else {})
        page = (await api.get("/api/v1/tenants", params=params)).json()
        seen += [t["uid"] for t in page["data"]]
        pages += 1
        if page["done"]:
            break
        iterator = page["iterator"]
    assert pages == 3
    assert sorted(seen) == [f"t{i}" for i in range(7)]
    assert (await api.get("/api/v1/tenants", params={"limit": 251})).status_code == 422


async def test_other_projects_tenant_is_404(
    api: httpx.AsyncClient, database, settings, client: httpx.AsyncClient
) -> None:
    from tests.conftest import make_project

    other: ProjectKey = await make_project(database, settings, "other")
    await api.post("/api/v1/tenants", json={"uid": "mine", "name": "Mine"})
    reply = await client.get("/api/v1/tenants/mine", headers=other.headers)
    assert reply.status_code == 404


# A real id's shape, lower case, and punctuation a uid may hold: each could pass for an id.
ID_SHAPED_UIDS = [new_id("tnt"), "tnt_" + "a" * 26, "tnt_" + "0123456789" * 2 + "ab.-:@"]


@pytest.mark.parametrize("uid", ID_SHAPED_UIDS)
async def test_a_uid_shaped_like_a_tenant_id_is_refused(api: httpx.AsyncClient, uid: str) -> None:
    # Given a uid with the shape of a tenant id, when a tenant is created with it
    created = await api.post("/api/v1/tenants", json={"uid": uid, "name": "Shady"})

    # Then it is a 422 on uid, and no tenant was made
    assert created.status_code == 422, created.text
    assert created.json()["code"] == "validation_failed"
    assert set(created.json()["fields"]) == {"uid"}
    assert (await api.get("/api/v1/tenants")).json()["data"] == []

    # And an existing tenant cannot take it either
    await api.post("/api/v1/tenants", json={"uid": "plain", "name": "Plain"})
    patched = await api.patch("/api/v1/tenants/plain", json={"uid": uid})
    assert patched.status_code == 422, patched.text
    assert set(patched.json()["fields"]) == {"uid"}
    assert (await api.get("/api/v1/tenants/plain")).json()["uid"] == "plain"


async def test_a_tenant_may_take_back_its_own_id_as_uid(api: httpx.AsyncClient) -> None:
    # Given a tenant created without a uid (its uid is its id) that was given one later
    tenant = (await api.post("/api/v1/tenants", json={"name": "Default"})).json()
    assert tenant["uid"] == tenant["id"]
    await api.patch(f"/api/v1/tenants/{tenant['id']}", json={"uid": "chosen"})

    # When the uid is set back to the tenant's own id (a read-modify-write round trip)
    reply = await api.patch("/api/v1/tenants/chosen", json={"uid": tenant["id"]})

    # Then it is accepted, and the tenant is found by it
    assert reply.status_code == 200, reply.text
    assert (await api.get(f"/api/v1/tenants/{tenant['id']}")).json()["uid"] == tenant["id"]


async def test_an_id_names_its_tenant_never_another_tenants_uid(
    api: httpx.AsyncClient, database: Database, project: ProjectKey
) -> None:
    # Given tenant A, and a tenant B stored before uids were checked, whose uid is A's id
    # (B's id is older than A's, so B comes first in any scan by id)
    a = (await api.post("/api/v1/tenants", json={"uid": "a", "name": "A"})).json()
    b_id = new_id("tnt", now_ms=1)
    async with database.session() as session:
        session.add(Tenant(id=b_id, project_id=project.project_id, uid=a["id"], name="B"))
        await commit(session)

    # When A's id is used on tenant, endpoint and message routes
    read = await api.get(f"/api/v1/tenants/{a['id']}")
    renamed = await api.patch(f"/api/v1/tenants/{a['id']}", json={"name": "A2"})
    endpoint = await api.post(
        f"/api/v1/tenants/{a['id']}/endpoints", json={"url": "https://example.com/hook"}
    )
    message = await api.post(
        f"/api/v1/tenants/{a['id']}/messages", json={"event_type": "x.y", "payload": {}}
    )

    # Then each one acts on A, and B is untouched
    assert read.json()["id"] == renamed.json()["id"] == a["id"], (read.text, renamed.text)
    assert endpoint.status_code == 201, endpoint.text
    assert message.json()["tenant_id"] == a["id"], message.text
    b = (await api.get(f"/api/v1/tenants/{b_id}")).json()
    assert (b["name"], b["uid"]) == ("B", a["id"])
    assert (await api.get(f"/api/v1/tenants/{b_id}/endpoints")).json()["data"] == []

    # And once A is deleted its id names no tenant at all, not B by its uid
    assert (await api.delete(f"/api/v1/tenants/{a['id']}")).status_code == 204
    for reply in (
        await api.get(f"/api/v1/tenants/{a['id']}"),
        await api.get(f"/api/v1/tenants/{a['id']}/endpoints"),
        await api.post(
            f"/api/v1/tenants/{a['id']}/messages", json={"event_type": "x.y", "payload": {}}
        ),
    ):
        assert reply.status_code == 404, reply.text
