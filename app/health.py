"""Liveness, readiness and Prometheus metrics (outside ``/api/v1``, no auth)."""

import time
from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from app.db.session import Database
from app.metrics import render_metrics


class HealthController(Controller):
    path = "/"
    include_in_schema = True
    tags = ["health"]

    @get("/healthz")
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz")
    async def readyz(self, state: State) -> Response[dict[str, Any]]:
        """200 when the database and the broker answer, 503 (naming the culprit) otherwise."""
        database: Database = state.database
        checks: dict[str, str] = {}
        started = time.perf_counter()
        try:
            async with database.session() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        try:
            await database.sender.ping()
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unavailable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        body: dict[str, Any] = {
            "status": "ok" if ready else "unavailable",
            "checks": checks,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if not ready:
            body.update(code="service_unavailable", detail="a dependency is unavailable")
        return Response(body, status_code=200 if ready else 503)

    @get("/metrics", media_type="text/plain; version=0.0.4")
    async def metrics(self, state: State) -> str:
        return await render_metrics(state.database, state.attempt_totals)
