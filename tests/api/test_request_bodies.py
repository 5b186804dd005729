"""Bodies that are not JSON objects: the same 400 on every route that takes one."""

import httpx
import pytest

NOT_AN_OBJECT = "the request body must be a JSON object"
# A route of each kind that takes a JSON object (tenant "acme" exists, see below).
ROUTES = [
    ("POST", "/api/v1/tenants"),
    ("PATCH", "/api/v1/tenants/acme"),
    ("POST", "/api/v1/event-types"),
    ("POST", "/api/v1/tenants/acme/endpoints"),
    ("POST", "/api/v1/tenants/acme/messages"),
    ("PATCH", "/api/v1/project"),
]


@pytest.fixture
async def acme(api: httpx.AsyncClient) -> httpx.AsyncClient:
    created = await api.post("/api/v1/tenants", json={"uid": "acme", "name": "Acme"})
    assert created.status_code == 201, created.text
    return api


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("content_type", ["application/json", None])
async def test_an_empty_body_is_a_400_that_says_what_is_wanted(
    acme: httpx.AsyncClient, method: str, path: str, content_type: str | None
) -> None:
    # Given a valid key, when a route that takes a JSON object is sent no body at all
    headers = {"content-type": content_type} if content_type else {}
    reply = await acme.request(method, path, content=b"", headers=headers)

    # Then it is a 400 like malformed JSON, saying what the body must be
    assert reply.status_code == 400, reply.text
    assert reply.json() == {"code": "malformed_request", "detail": NOT_AN_OBJECT}


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("body", [b"null", b"[]", b"[{}]", b"3", b'"text"', b"true"])
async def test_json_that_is_not_an_object_is_the_same_400(
    acme: httpx.AsyncClient, method: str, path: str, body: bytes
) -> None:
    reply = await acme.request(
        method, path, content=body, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400, reply.text
    assert reply.json() == {"code": "malformed_request", "detail": NOT_AN_OBJECT}


async def test_field_errors_still_name_their_fields(acme: httpx.AsyncClient) -> None:
    # Given bodies that are objects with a wrong, a missing and an unknown field
    wrong = await acme.post("/api/v1/tenants", json={"name": "A", "metadata": 3})
    missing = await acme.post("/api/v1/tenants", json={})
    unknown = await acme.post("/api/v1/tenants", json={"name": "A", "data": {}})

    # Then each is a 422 naming its field, never the body as a whole
    assert [r.status_code for r in (wrong, missing, unknown)] == [422, 422, 422]
    assert set(wrong.json()["fields"]) == {"metadata"}
    assert set(missing.json()["fields"]) == {"name"}
    assert set(unknown.json()["fields"]) == {"data"}
