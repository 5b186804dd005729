"""Projects and their settings; the CLI creates them, the API reads and patches them."""

from dataclasses import dataclass

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.api_keys.service import create_key
from app.db.models import Project
from app.errors import not_found
from app.ids import new_id
from app.projects.schemas import ProjectPatch


@dataclass(frozen=True)
class NewProject:
    project: Project
    api_key: str


async def create_project(
    session: AsyncSession, name: str, retry_schedule_s: tuple[int, ...], disable_after_s: int
) -> NewProject:
    """A project and its first API key (returned in clear this once only)."""
    project = Project(
        id=new_id("prj"),
        name=name,
        retry_schedule_s=list(retry_schedule_s),
        disable_after_s=disable_after_s,
        branding={},
    )
    session.add(project)
    await session.flush()
    first = await create_key(session, project.id, name="first key")
    return NewProject(project=project, api_key=first.key)


async def get_project(session: AsyncSession, project_id: str) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise not_found("project", project_id)
    return project


async def update_project(session: AsyncSession, project_id: str, patch: ProjectPatch) -> Project:
    project = await get_project(session, project_id)
    changes = {
        "name": patch.name,
        "retry_schedule_s": patch.retry_schedule,
        "secret_overlap_s": patch.secret_overlap_seconds,
        "disable_after_s": patch.disable_after_seconds,
        "failing_after_attempts": patch.failing_after_attempts,
        "retention_days": patch.retention_days,
        "max_endpoints_per_tenant": patch.max_endpoints_per_tenant,
    }
    for attribute, value in changes.items():
        if value is not msgspec.UNSET:
            setattr(project, attribute, value)
    if patch.branding is not msgspec.UNSET:
        project.branding = msgspec.to_builtins(patch.branding)
    await session.flush()
    return project
