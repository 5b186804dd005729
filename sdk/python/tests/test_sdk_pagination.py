"""List calls walk ``iterator``/``done`` lazily: a page is fetched only when it is needed."""

import httpx
import pytest
import respx
from herald_sdk import AsyncHerald, Herald, Tenant
from sdk_samples import page_json, tenant_json

TENANTS_URL = "http://herald.test/api/v1/tenants"


def three_pages(respx_mock: respx.MockRouter) -> respx.Route:
    """Tenants t1…t5 over three pages: [t1, t2] → it_a, [t3, t4] → it_b, [t5] done."""

    def reply(request: httpx.Request) -> httpx.Response:
        pages = {
            None: page_json([tenant_json(id="t1"), tenant_json(id="t2")], "it_a"),
            "it_a": page_json([tenant_json(id="t3"), tenant_json(id="t4")], "it_b"),
            "it_b": page_json([tenant_json(id="t5")], None),
        }
        return httpx.Response(200, json=pages[request.url.params.get("iterator")])

    return respx_mock.get(TENANTS_URL).mock(side_effect=reply)


def test_pagination_walks_three_pages_lazily(herald: Herald, respx_mock: respx.MockRouter) -> None:
    # Given three pages of tenants
    route = three_pages(respx_mock)

    # When the list is made, nothing is fetched yet
    tenants = herald.tenants.list(limit=2)
    assert route.call_count == 0

    # Then each page is fetched when the previous one is used up
    seen = []
    calls_after_each = []
    for tenant in tenants:
        seen.append(tenant.id)
        calls_after_each.append(route.call_count)
    assert seen == ["t1", "t2", "t3", "t4", "t5"]
    assert calls_after_each == [1, 1, 2, 2, 3]
    iterators = [call.request.url.params.get("iterator") for call in route.calls]
    assert iterators == [None, "it_a", "it_b"]
    assert {call.request.url.params["limit"] for call in route.calls} == {"2"}


def test_stopping_early_fetches_no_more_pages(herald: Herald, respx_mock: respx.MockRouter) -> None:
    route = three_pages(respx_mock)

    first = next(herald.tenants.list())

    assert isinstance(first, Tenant)
    assert route.call_count == 1


async def test_pagination_walks_three_pages_lazily_async(
    async_herald: AsyncHerald, respx_mock: respx.MockRouter
) -> None:
    # Given three pages of tenants
    route = three_pages(respx_mock)

    # When iterating with async for
    tenants = async_herald.tenants.list()
    assert route.call_count == 0
    seen = []
    calls_after_each = []
    async for tenant in tenants:
        seen.append(tenant.id)
        calls_after_each.append(route.call_count)

    # Then the pages came one at a time, when needed
    assert seen == ["t1", "t2", "t3", "t4", "t5"]
    assert calls_after_each == [1, 1, 2, 2, 3]


def test_an_exhausted_pager_stays_exhausted(herald: Herald, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(TENANTS_URL).respond(200, json=page_json([tenant_json()], None))

    pager = herald.tenants.list()
    assert len(list(pager)) == 1
    assert list(pager) == []
    assert route.call_count == 1


@pytest.mark.parametrize("done", [True, False])
def test_a_page_without_an_iterator_ends_the_walk(
    herald: Herald, respx_mock: respx.MockRouter, done: bool
) -> None:
    # Given a last page that has no iterator (even if it claims not to be done)
    route = respx_mock.get(TENANTS_URL).respond(
        200, json={"data": [tenant_json()], "iterator": None, "done": done}
    )

    # Then the walk ends instead of asking for the first page forever
    assert len(list(herald.tenants.list())) == 1
    assert route.call_count == 1


def test_empty_pages_in_the_middle_are_skipped(
    herald: Herald, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(TENANTS_URL).mock(
        side_effect=[
            httpx.Response(200, json={"data": [], "iterator": "it_a", "done": False}),
            httpx.Response(200, json=page_json([tenant_json(id="t9")], None)),
        ]
    )

    assert [tenant.id for tenant in herald.tenants.list()] == ["t9"]
