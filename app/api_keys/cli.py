"""``herald key create --project prj_… [--name --scope … --expires-at] [--json]`` and
``herald key revoke KEY_ID``: API keys from the shell, for the operator (the first key
of a project, or a way back in when none works)."""

import argparse
import json
import sys
from datetime import datetime
from typing import TextIO

from app.api_keys.service import NewKey, create_key, revoke_key
from app.config import Settings
from app.db.session import Database, commit
from app.errors import ValidationFailed
from app.projects.service import get_project
from app.scopes import ADMIN, SCOPES


def add_create_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, help="the project id (prj_…)")
    parser.add_argument("--name", default="cli", help="what the key is for")
    parser.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        dest="scopes",
        help="repeat for several (default: admin)",
    )
    parser.add_argument("--expires-at", help="ISO 8601 time after which the key stops")
    parser.add_argument("--json", action="store_true", help="print the key's fields as JSON")


def add_revoke_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key_id", help="the key's id (key_…)")


async def create_command(settings: Settings, args: argparse.Namespace) -> NewKey:
    """Mint the key (``HeraldError`` propagates: an unknown project, a past expiry)."""
    expires_at = _parse_time(args.expires_at) if args.expires_at else None
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            await get_project(session, args.project)
            new = await create_key(
                session, args.project, args.name, args.scopes or [ADMIN], expires_at
            )
            await commit(session)
    finally:
        await database.dispose()
    return new


async def revoke_command(settings: Settings, args: argparse.Namespace) -> None:
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            await revoke_key(session, None, args.key_id)
            await commit(session)
    finally:
        await database.dispose()


def print_created(new: NewKey, as_json: bool, out: TextIO = sys.stdout) -> None:
    """The key's fields, with the key in clear (shown this once)."""
    row = new.row
    if as_json:
        expires_at = row.expires_at.isoformat() if row.expires_at else None
        fields = {"id": row.id, "name": row.name, "scopes": row.scopes, "prefix": row.prefix}
        print(json.dumps({**fields, "expires_at": expires_at, "key": new.key}), file=out)
        return
    print(f"API key {row.name} ({row.id}, {', '.join(row.scopes)})", file=out)
    print(f"key (shown once): {new.key}", file=out)


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed.field("expires_at", f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise ValidationFailed.field("expires_at", "give a time zone (Z or ±hh:mm)")
    return moment
