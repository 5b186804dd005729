"""``replays``: bulk resends of failed and exhausted deliveries, run as jobs."""

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from herald_sdk._operations import R, Resource, operation
from herald_sdk._request import Request, body, parse_model, path
from herald_sdk.models import Replay

ReplayStatus = Literal["failed", "exhausted"]


class Replays(Resource[R]):
    @operation
    def create(
        self,
        *,
        since: datetime,
        until: datetime | None = None,
        tenant: str | None = None,
        endpoint: str | None = None,
        event_type: str | None = None,
        status: Sequence[ReplayStatus] = ("failed", "exhausted"),
    ) -> Request[Replay]:
        """Start resending the deliveries in ``status`` of the window, optionally narrowed
        to one tenant, endpoint or event type; follow the job with ``get``."""
        return Request(
            "POST",
            "/replays",
            parse_model(Replay),
            json=body(
                since=since,
                until=until,
                tenant=tenant,
                endpoint=endpoint,
                event_type=event_type,
                status=list(status),
            ),
        )

    @operation
    def get(self, replay: str) -> Request[Replay]:
        """The job's progress: ``done`` of ``total``, and its ``status``."""
        return Request("GET", path("/replays/{}", replay), parse_model(Replay))
