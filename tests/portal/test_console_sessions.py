"""Console sessions end when their account says so: "sign out everywhere"."""

import httpx
from litestar import Litestar

from tests.portal.console_fixtures import csrf_of, log_in


def fresh_client(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://herald.test")


async def test_sign_out_everywhere_ends_every_session_of_the_account(
    app: Litestar, staff: str
) -> None:
    async with fresh_client(app) as laptop, fresh_client(app) as phone:
        # Given one staff account signed in from two browsers
        assert (await log_in(laptop)).status_code == 303
        assert (await log_in(phone)).status_code == 303
        stale_cookie = laptop.cookies.get("herald_console")
        home = await laptop.get("/console")
        assert home.status_code == 200

        # When it signs out everywhere from the laptop
        reply = await laptop.post("/console/logout-everywhere", data={"_csrf": csrf_of(home)})

        # Then the laptop goes to the sign-in form, the phone's session is over too, and
        # the laptop's old cookie, replayed, no longer opens the console
        assert (reply.status_code, reply.headers["location"]) == (303, "/console/login")
        phone_page = await phone.get("/console")
        assert (phone_page.status_code, phone_page.headers["location"]) == (303, "/console/login")
        laptop.cookies.set("herald_console", str(stale_cookie), path="/console")
        assert (await laptop.get("/console/replays")).status_code == 303
        # And signing in again works as before
        assert (await log_in(phone)).status_code == 303
        assert (await phone.get("/console")).status_code == 200


async def test_signing_out_once_leaves_the_other_sessions_alone(app: Litestar, staff: str) -> None:
    async with fresh_client(app) as laptop, fresh_client(app) as phone:
        # Given two signed-in browsers; When the laptop signs out (this browser only)
        await log_in(laptop)
        await log_in(phone)
        home = await laptop.get("/console")
        assert "Sign out everywhere" in home.text
        await laptop.post("/console/logout", data={"_csrf": csrf_of(home)})

        # Then the phone stays signed in
        assert (await phone.get("/console")).status_code == 200
        assert (await laptop.get("/console")).status_code == 303
