"""``project``: the settings of the project the API key belongs to."""

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from herald_sdk._operations import R, Resource, operation
from herald_sdk._request import NOT_GIVEN, NotGiven, Request, parse_model, patch
from herald_sdk.models import Branding, Project


class ProjectResource(Resource[R]):
    @operation
    def get(self) -> Request[Project]:
        return Request("GET", "/project", parse_model(Project))

    @operation
    def update(
        self,
        *,
        name: str | NotGiven = NOT_GIVEN,
        retry_schedule: Sequence[int] | NotGiven = NOT_GIVEN,
        secret_overlap_seconds: int | NotGiven = NOT_GIVEN,
        disable_after_seconds: int | NotGiven = NOT_GIVEN,
        failing_after_attempts: int | NotGiven = NOT_GIVEN,
        retention_days: int | NotGiven = NOT_GIVEN,
        max_endpoints_per_tenant: int | NotGiven = NOT_GIVEN,
        branding: Branding | Mapping[str, Any] | NotGiven = NOT_GIVEN,
    ) -> Request[Project]:
        """Change the given settings only. ``retry_schedule`` is the delays in seconds
        before each attempt of new deliveries; ``max_endpoints_per_tenant`` caps each
        tenant's endpoints (creating one more is a ``ConflictError``, code
        ``endpoint_limit``)."""
        if isinstance(branding, Branding):
            branding = {
                key: value
                for key, value in dataclasses.asdict(branding).items()
                if key != "raw" and value is not None
            }
        return Request(
            "PATCH",
            "/project",
            parse_model(Project),
            json=patch(
                name=name,
                retry_schedule=_listed(retry_schedule),
                secret_overlap_seconds=secret_overlap_seconds,
                disable_after_seconds=disable_after_seconds,
                failing_after_attempts=failing_after_attempts,
                retention_days=retention_days,
                max_endpoints_per_tenant=max_endpoints_per_tenant,
                branding=branding,
            ),
        )


def _listed(values: Sequence[int] | NotGiven) -> list[int] | NotGiven:
    return values if isinstance(values, NotGiven) else list(values)
