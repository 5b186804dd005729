"""Liveness, readiness and Prometheus metrics (outside ``/api/v1``, no auth).

Readiness is a handful of cheap probes, each of which answers ``"ok"`` or says why not;
a probe that raises answers ``"unavailable: <exception type>"``, so ``/readyz`` itself
never fails.
"""

import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from sqlalchemy import not_, select, text

from app.config import Settings
from app.db.models import Delivery, Endpoint
from app.db.session import Database
from app.metrics import held_back, render_metrics


async def ping_database(database: Database) -> str:
    async with database.session() as session:
        await session.execute(text("SELECT 1"))
    return "ok"


async def ping_broker(database: Database) -> str:
    await database.sender.ping()
    return "ok"


async def check_delivery_lag(database: Database, settings: Settings) -> str:
    """``"ok"`` unless a delivery Herald is free to send (``app.metrics.held_back``) has
    been due for longer than ``settings.ready_max_lag_s``; then how long it has waited.

    Reads only the due rows older than the bound (the head of ``ix_deliveries_due``),
    in order, up to the first free one: a backlog that endpoints hold back costs a scan of
    its overdue part, never of history.
    """
    now = datetime.now(UTC)
    max_lag = timedelta(seconds=settings.ready_max_lag_s)
    async with database.session(autocommit=True) as session:
        oldest = await session.scalar(
            select(Delivery.next_attempt_at)
            .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
            .where(
                Delivery.next_attempt_at < now - max_lag,
                not_(held_back(now, settings.circuit_failure_threshold)),
            )
            .order_by(Delivery.next_attempt_at)
            .limit(1)
        )
    if oldest is None:
        return "ok"
    waited_s = (now - oldest).total_seconds()
    return (
        f"late: a delivery has been due for {waited_s:.0f} s (limit {settings.ready_max_lag_s:g} s)"
    )


async def run_probe(probe: Awaitable[str]) -> str:
    """The probe's verdict, or ``"unavailable: <exception type>"`` if it raises."""
    try:
        return await probe
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"


class HealthController(Controller):
    path = "/"
    include_in_schema = True
    tags = ["health"]

    @get("/healthz")
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz")
    async def readyz(self, state: State) -> Response[dict[str, Any]]:
        """200 when the database and the broker answer and no delivery Herald is free to
        send has been due for over ``HERALD_READY_MAX_LAG_S``; 503 otherwise, with
        ``checks`` naming each failing check (``database``, ``broker``, ``delivery_lag``)."""
        database: Database = state.database
        settings: Settings = state.settings
        started = time.perf_counter()
        checks = {
            "database": await run_probe(ping_database(database)),
            "broker": await run_probe(ping_broker(database)),
            "delivery_lag": await run_probe(check_delivery_lag(database, settings)),
        }
        failing = [name for name, verdict in checks.items() if verdict != "ok"]
        body: dict[str, Any] = {
            "status": "unavailable" if failing else "ok",
            "checks": checks,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if failing:
            body.update(code="service_unavailable", detail=f"not ready: {', '.join(failing)}")
        return Response(body, status_code=503 if failing else 200)

    @get("/metrics", media_type="text/plain; version=0.0.4")
    async def metrics(self, state: State) -> str:
        """Prometheus text: unsettled, due and held deliveries, the lag, attempts by outcome."""
        return await render_metrics(state.database, state.attempt_totals, state.settings)
