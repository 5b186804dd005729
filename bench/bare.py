"""The bare-route baseline: a one-route Litestar app, served exactly as ``herald api``
serves Herald (uvicorn, same worker count and options), that accepts a JSON body and
answers 202 with a small JSON object, touching nothing else.

    python -m uvicorn bench.bare:create_app --factory --port 9001
"""

from typing import Any

import msgspec
from litestar import Litestar, post


class Accepted(msgspec.Struct):
    id: str


@post("/bare", status_code=202)
async def accept(data: dict[str, Any]) -> Accepted:
    return Accepted(id="msg_bare")


def create_app() -> Litestar:
    return Litestar(route_handlers=[accept])
