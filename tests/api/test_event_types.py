import httpx

from app.config import Settings
from app.db.session import Database
from tests.conftest import make_project

INVOICE_SCHEMA = {
    "type": "object",
    "properties": {"amount": {"type": "integer", "minimum": 0}},
    "required": ["amount"],
}


async def test_event_type_crud_by_name(api: httpx.AsyncClient) -> None:
    # Given an event type with a description and a schema
    created = await api.post(
        "/api/v1/event-types",
        json={
            "name": "invoice.paid",
            "description": "An invoice was paid",
            "schema": INVOICE_SCHEMA,
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("evt_") and body["name"] == "invoice.paid"
    assert body["schema"] == INVOICE_SCHEMA and body["archived"] is False

    # When it is read by name and its description and schema are changed
    read = await api.get("/api/v1/event-types/invoice.paid")
    patched = await api.patch(
        "/api/v1/event-types/invoice.paid", json={"description": "Paid", "schema": None}
    )

    # Then the read agrees and the patch shows
    assert read.json() == body
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "Paid" and patched.json()["schema"] is None


async def test_delete_archives_and_patch_unarchives(api: httpx.AsyncClient) -> None:
    # Given two event types
    await api.post("/api/v1/event-types", json={"name": "user.created"})
    await api.post("/api/v1/event-types", json={"name": "user.deleted"})

    # When one is deleted
    deleted = await api.delete("/api/v1/event-types/user.deleted")

    # Then it is archived: hidden from the default list, still readable, listed on request
    assert deleted.status_code == 204
    default = (await api.get("/api/v1/event-types")).json()["data"]
    assert [t["name"] for t in default] == ["user.created"]
    everything = (await api.get("/api/v1/event-types", params={"include_archived": True})).json()
    assert {t["name"] for t in everything["data"]} == {"user.created", "user.deleted"}
    assert (await api.get("/api/v1/event-types/user.deleted")).json()["archived"] is True

    # And a PATCH with archived: false brings it back
    restored = await api.patch("/api/v1/event-types/user.deleted", json={"archived": False})
    assert restored.json()["archived"] is False
    assert len((await api.get("/api/v1/event-types")).json()["data"]) == 2


async def test_duplicate_name_is_a_conflict(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/event-types", json={"name": "order.shipped"})
    again = await api.post("/api/v1/event-types", json={"name": "order.shipped"})
    assert again.status_code == 409
    assert again.json()["code"] == "name_taken"


async def test_invalid_fields_are_422_with_field_names(api: httpx.AsyncClient) -> None:
    # A name with a space, an over-long name, an unknown field
    for body, field in [
        ({"name": "has space"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "colour": "red"}, "colour"),
    ]:
        reply = await api.post("/api/v1/event-types", json=body)
        assert reply.status_code == 422, reply.text
        # (an unknown field is reported under "data", its name in the message)
        assert field in reply.json()["fields"] or field in reply.json()["detail"], reply.json()


async def test_invalid_json_schema_is_422_on_schema(api: httpx.AsyncClient) -> None:
    # Given a schema that is not valid Draft 2020-12 (type must be a string or an array)
    bad = {"type": "object", "properties": {"amount": {"type": 12}}}

    # When it is used to create, and to patch, an event type
    created = await api.post("/api/v1/event-types", json={"name": "a.b", "schema": bad})
    await api.post("/api/v1/event-types", json={"name": "c.d"})
    patched = await api.patch("/api/v1/event-types/c.d", json={"schema": bad})

    # Then both are refused naming the schema field and where in it the fault is
    for reply in (created, patched):
        assert reply.status_code == 422, reply.text
        assert set(reply.json()["fields"]) == {"schema"}
        assert "schema/properties/amount/type" in reply.json()["fields"]["schema"]
    assert (await api.get("/api/v1/event-types/c.d")).json()["schema"] is None


async def test_pagination_round_trip(api: httpx.AsyncClient) -> None:
    for i in range(5):
        await api.post("/api/v1/event-types", json={"name": f"thing.{i}"})
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    pages = 0
    while True:
        page = (await api.get("/api/v1/event-types", params=params)).json()
        seen += [t["name"] for t in page["data"]]
        pages += 1
        if page["done"]:
            assert page["iterator"] is None
            break
        params["iterator"] = page["iterator"]
    assert pages == 3
    assert sorted(seen) == [f"thing.{i}" for i in range(5)]


async def test_missing_key_is_401_on_every_route(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("POST", "/api/v1/event-types"),
        ("GET", "/api/v1/event-types"),
        ("GET", "/api/v1/event-types/a.b"),
        ("PATCH", "/api/v1/event-types/a.b"),
        ("DELETE", "/api/v1/event-types/a.b"),
    ]:
        reply = await client.request(method, path, json={"name": "a.b"})
        assert reply.status_code == 401, (method, path, reply.text)


async def test_other_projects_event_type_is_404(
    api: httpx.AsyncClient, client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # Given an event type of our project, and another project's key
    await api.post("/api/v1/event-types", json={"name": "secret.thing"})
    other = await make_project(database, settings, "other")
    headers = other.headers

    # Then the other project neither sees it listed nor reaches it by name
    listed = await client.get("/api/v1/event-types", headers=headers)
    assert listed.json()["data"] == []
    for method, body in [("GET", None), ("PATCH", {"description": "x"}), ("DELETE", None)]:
        reply = await client.request(
            method, "/api/v1/event-types/secret.thing", json=body, headers=headers
        )
        assert reply.status_code == 404, (method, reply.text)
        assert reply.json()["code"] == "not_found"

    # And it may create its own event type of the same name
    mine = await client.post("/api/v1/event-types", json={"name": "secret.thing"}, headers=headers)
    assert mine.status_code == 201
    assert (await api.get("/api/v1/event-types/secret.thing")).json()["archived"] is False
