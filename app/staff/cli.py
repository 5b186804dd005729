"""``herald staff create EMAIL --project prj_…``: a console login.

The password comes from ``--password-stdin`` (first line of stdin), else
``HERALD_STAFF_PASSWORD``, else an interactive prompt (asked twice).
"""

import argparse
import getpass
import sys
from collections.abc import Mapping
from typing import TextIO

from app.config import Settings
from app.db.session import Database, commit
from app.staff.service import create_staff


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email")
    parser.add_argument("--project", required=True, help="the project id (prj_…) it may see")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )


def read_password(args: argparse.Namespace, environ: Mapping[str, str], stdin: TextIO) -> str:
    """The new password, from stdin, the environment or a prompt; SystemExit if none."""
    if args.password_stdin:
        return stdin.readline().rstrip("\r\n")
    if environ.get("HERALD_STAFF_PASSWORD"):
        return environ["HERALD_STAFF_PASSWORD"]
    if not stdin.isatty():
        raise SystemExit("herald: give the password with --password-stdin or HERALD_STAFF_PASSWORD")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != password:
        raise SystemExit("herald: the passwords differ")
    return password


async def staff_create_command(settings: Settings, args: argparse.Namespace, password: str) -> str:
    """Create the login; return its id (errors propagate as ``HeraldError``)."""
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            account = await create_staff(session, args.project, args.email, password)
            await commit(session)
        return account.id
    finally:
        await database.dispose()


def print_created(email: str, account_id: str, out: TextIO = sys.stdout) -> None:
    print(f"staff {email} ({account_id}) can now sign in at /console", file=out)
