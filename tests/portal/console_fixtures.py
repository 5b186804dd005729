"""Helpers for console tests: the staff login every test signs in with, and its form."""

import re

import httpx

EMAIL, PASSWORD = "ann@example.com", "correct horse battery"
_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    match = _CSRF.search(page.text)
    assert match, page.text
    return match.group(1)


async def log_in(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/console/login")
    return await client.post(
        "/console/login", data={"_csrf": csrf_of(form), "email": EMAIL, "password": password}
    )
