import httpx

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
