"""``herald staff create``: a console login from the command line."""

from app.config import Settings
from app.db.session import Database
from app.staff.service import sign_in
from tests.conftest import ProjectKey
from tests.herald_cli import run_cli


async def test_staff_create_reads_the_password_from_stdin(
    settings: Settings, database: Database, project: ProjectKey
) -> None:
    # When a login is created with its password piped in
    code, out, err = await run_cli(
        settings, "staff", "create", "ann@example.com", "--project", project.project_id,
        "--password-stdin", stdin=b"correct horse battery\n",
    )  # fmt: skip

    # Then it says so and that password signs in
    assert code == 0, err
    assert out.startswith("staff ann@example.com (stf_") and "/console" in out
    async with database.session() as session:
        verdict = await sign_in(session, "ann@example.com", "correct horse battery", "127.0.0.1")
    assert verdict.account is not None and verdict.account.project_id == project.project_id


async def test_staff_create_refuses_a_duplicate_and_a_missing_password(
    settings: Settings, project: ProjectKey
) -> None:
    # Given a login created through HERALD_STAFF_PASSWORD
    args = ("staff", "create", "ann@example.com", "--project", project.project_id)
    first = await run_cli(settings, *args, env={"HERALD_STAFF_PASSWORD": "correct horse battery"})
    assert first[0] == 0, first[2]

    # When the same e-mail is created again, or with no password source at all
    again = await run_cli(settings, *args, env={"HERALD_STAFF_PASSWORD": "another password!"})
    no_password = await run_cli(settings, "staff", "create", "bob@example.com", "--project",
                                project.project_id)  # fmt: skip

    # Then both fail, saying why
    assert again[0] == 1 and "already has a console login" in again[2]
    assert no_password[0] != 0 and "--password-stdin" in no_password[2]
