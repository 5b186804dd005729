import msgspec
from litestar import Controller, get, patch
from litestar.params import JSONBody

from app.db.models import Project
from app.deps import CallerDep, DbSession
from app.projects import service
from app.projects.schemas import Branding, ProjectOut, ProjectPatch


def project_out(project: Project) -> ProjectOut:
    return ProjectOut(
        id=project.id,
        name=project.name,
        retry_schedule=list(project.retry_schedule_s),
        secret_overlap_seconds=project.secret_overlap_s,
        disable_after_seconds=project.disable_after_s,
        failing_after_attempts=project.failing_after_attempts,
        retention_days=project.retention_days,
        max_endpoints_per_tenant=project.max_endpoints_per_tenant,
        branding=msgspec.convert(project.branding or {}, Branding),
    )


class ProjectController(Controller):
    path = "/project"
    tags = ["project"]

    @get()
    async def get_project(self, session: DbSession, caller: CallerDep) -> ProjectOut:
        return project_out(await service.get_project(session, caller.project_id))

    @patch()
    async def update_project(
        self, session: DbSession, caller: CallerDep, data: JSONBody[ProjectPatch]
    ) -> ProjectOut:
        return project_out(await service.update_project(session, caller.project_id, data))
