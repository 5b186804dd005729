"""The root of the site: a page of links for a browser, and the favicon."""

import re

import httpx


async def test_root_is_a_page_of_links_that_all_answer(client: httpx.AsyncClient) -> None:
    # Given the app, when a browser opens its root
    page = await client.get("/")

    # Then it is an HTML page linking to the API docs, health and the console
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    links = set(re.findall(r'href="(/[^"]*)"', page.text))
    assert {"/schema/swagger", "/healthz", "/console", "/favicon.ico"} <= links
    # and every link leads somewhere (the console to its sign-in page)
    for link in links:
        reply = await client.get(link)
        assert reply.status_code in (200, 303), (link, reply.status_code)


async def test_favicon_is_an_svg(client: httpx.AsyncClient) -> None:
    # When a browser asks for the favicon
    icon = await client.get("/favicon.ico")

    # Then it gets a small SVG
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg") and len(icon.content) < 1024


async def test_root_and_favicon_stay_out_of_the_api_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "/" not in paths and "/favicon.ico" not in paths
