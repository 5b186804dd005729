"""``herald``: the command line. Each command is a process boundary: it reads the
environment once into ``Settings`` and passes that value down."""

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from app.config import LOOPBACK_NETWORKS, ConfigError, Settings, check_secret_key, load_settings
from app.logs import configure_logging, uvicorn_log_config

DEV_STATE_DIR = Path(".herald")
DEV_SECRET_KEY = "secret-key"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        print(f"herald: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    result: int = args.run(settings, args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="herald", description="Outbound webhooks as a service.")
    commands = parser.add_subparsers(title="commands")

    dev = commands.add_parser("dev", help="everything in one process on SQLite (development)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--threads", type=int, default=8, help="worker threads")
    dev.set_defaults(run=run_dev)

    migrate = commands.add_parser("migrate", help="upgrade the database schema to the latest")
    migrate.set_defaults(run=run_migrate)

    api = commands.add_parser("api", help="serve the API and portal (production)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1)
    api.add_argument(
        "--no-access-log",
        action="store_true",
        help="don't log each request (at high rates the access log is ~7%% of the api's CPU)",
    )
    api.set_defaults(run=run_api)

    worker = commands.add_parser("worker", help="run delivery workers (production)")
    worker.add_argument("--processes", type=int, default=2)
    worker.add_argument("--threads", type=int, default=8)
    worker.set_defaults(run=run_worker)

    scheduler = commands.add_parser("scheduler", help="run the retry/recovery scheduler")
    scheduler.set_defaults(run=run_scheduler_process)

    project = commands.add_parser("project", help="manage projects").add_subparsers()
    create = project.add_parser("create", help="create a project and print its first API key")
    create.add_argument("name")
    create.add_argument("--json", action="store_true", help='print {"id", "api_key"}')
    create.set_defaults(run=run_project_create)

    from app.api_keys import cli as key_cli
    from app.replays import cli as replay_cli
    from app.staff import cli as staff_cli

    key = commands.add_parser("key", help="manage a project's API keys").add_subparsers()
    key_create = key.add_parser("create", help="mint an API key and print it (once)")
    key_cli.add_create_arguments(key_create)
    key_create.set_defaults(run=run_key_create)
    key_revoke = key.add_parser("revoke", help="revoke an API key (refused within 1 s)")
    key_cli.add_revoke_arguments(key_revoke)
    key_revoke.set_defaults(run=run_key_revoke)

    staff = commands.add_parser("staff", help="manage support-console logins").add_subparsers()
    staff_create = staff.add_parser("create", help="create a console login for a project")
    staff_cli.add_arguments(staff_create)
    staff_create.set_defaults(run=run_staff_create)

    replay = commands.add_parser("replay", help="resend failed deliveries, with a progress bar")
    replay_cli.add_arguments(replay)
    replay.set_defaults(run=run_replay)

    rotate = commands.add_parser(
        "rotate-master-key",
        help="re-seal endpoint secrets under HERALD_SECRET_KEY (old: HERALD_OLD_SECRET_KEYS)",
    )
    rotate.set_defaults(run=run_rotate_master_key)
    return parser


def run_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.migrate import upgrade

    upgrade(settings.database_url)
    print("database is at the latest schema")
    return 0


def run_project_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.migrate import upgrade
    from app.db.session import Database, commit
    from app.projects.service import create_project

    upgrade(settings.database_url)  # a fresh database works at once; a no-op otherwise

    async def create() -> tuple[str, str]:
        database = Database(settings.database_url)
        try:
            async with database.session() as session:
                created = await create_project(
                    session, args.name, settings.retry_schedule_s, settings.disable_after_s
                )
                await commit(session)
            return created.project.id, created.api_key
        finally:
            await database.dispose()

    project_id, api_key = asyncio.run(create())
    if args.json:
        print(json.dumps({"id": project_id, "api_key": api_key}))
    else:
        print(f"project {args.name} ({project_id})\nAPI key (shown once): {api_key}")
    return 0


def run_key_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.api_keys.cli import create_command, print_created
    from app.errors import HeraldError

    try:
        created = asyncio.run(create_command(settings, args))
    except HeraldError as exc:
        print(f"herald: {exc.detail}", file=sys.stderr)
        return 1
    print_created(created, args.json)
    return 0


def run_key_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from app.api_keys.cli import revoke_command
    from app.errors import HeraldError

    try:
        asyncio.run(revoke_command(settings, args))
    except HeraldError as exc:
        print(f"herald: {exc.detail}", file=sys.stderr)
        return 1
    print(f"API key {args.key_id} revoked")
    return 0


def run_staff_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.errors import HeraldError
    from app.staff.cli import print_created, read_password, staff_create_command

    password = read_password(args, os.environ, sys.stdin)
    try:
        account_id = asyncio.run(staff_create_command(settings, args, password))
    except HeraldError as exc:
        print(f"herald: {exc.detail}", file=sys.stderr)
        return 1
    print_created(args.email, account_id)
    return 0


def run_replay(settings: Settings, args: argparse.Namespace) -> int:
    from app.errors import HeraldError
    from app.replays.cli import replay_command
    from workers.queue import sender_for

    sender = sender_for(settings) if settings.redis_url else None
    try:
        replay = asyncio.run(replay_command(settings, args, sender))
    except HeraldError as exc:
        print(f"herald: {exc.detail}", file=sys.stderr)
        return 1
    return 0 if replay.status == "completed" else 1


def run_rotate_master_key(settings: Settings, args: argparse.Namespace) -> int:
    from app.endpoints.master_key import rotate_master_key
    from app.secretbox import SecretBoxError

    def progress(seen: int, resealed: int) -> None:
        print(f"\r{seen} secrets checked, {resealed} re-sealed", end="", flush=True)

    try:
        seen, resealed = asyncio.run(rotate_master_key(settings, progress))
    except (ValueError, SecretBoxError) as exc:
        print(f"herald: {exc} (is the old key in HERALD_OLD_SECRET_KEYS?)", file=sys.stderr)
        return 1
    print(f"\rdone: {seen} secrets checked, {resealed} re-sealed under the new master key")
    return 0


def run_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    _require_production(settings)
    uvicorn.run(
        "app.asgi:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        access_log=not args.no_access_log,
        log_config=uvicorn_log_config(),
        proxy_headers=True,
        server_header=False,
    )
    return 0


# How long an idle worker waits between polls of Redis, in ms. Dramatiq's default (1 000)
# holds the first delivery after a quiet spell for up to a second, and a consumer whose
# prefetch is full backs off the same way; 50 costs an idle worker under 1 % of a core.
WORKER_POLL_MS = 50


def run_worker(settings: Settings, args: argparse.Namespace) -> int:
    # Read by Dramatiq once, when ``dramatiq.worker`` is first imported (just below).
    os.environ.setdefault("dramatiq_worker_timeout", str(WORKER_POLL_MS))
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    _require_production(settings)
    dramatiq_args = make_argument_parser().parse_args(
        ["workers.entrypoint", "--processes", str(args.processes), "--threads", str(args.threads)]
    )
    return int(dramatiq_main(dramatiq_args) or 0)


def run_scheduler_process(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.session import Database
    from app.eventloop import install_uvloop
    from workers.queue import sender_for
    from workers.scheduler import run_scheduler

    _require_production(settings)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        database = Database(settings.database_url, sender=sender_for(settings))
        try:
            await run_scheduler(database, settings, stop)
        finally:
            await database.dispose()

    install_uvloop()
    asyncio.run(serve())
    return 0


def _require_production(settings: Settings) -> None:
    missing = [
        name
        for name, value in (
            ("HERALD_SECRET_KEY", settings.secret_key),
            ("HERALD_REDIS_URL", settings.redis_url),
        )
        if not value
    ]
    if missing:
        raise SystemExit(f"herald: set {', '.join(missing)} (or use `herald dev` for development)")


def dev_settings(
    settings: Settings, environ: Mapping[str, str], served_at: str | None = None
) -> Settings:
    """``herald dev``'s view of the settings: in-process broker, loopback receivers allowed
    unless HERALD_ALLOWED_PRIVATE_NETWORKS is set (even empty), portal links to
    ``served_at`` unless HERALD_PUBLIC_URL is set, a persisted secret key (32 random
    bytes, base64: ``ConfigError`` if the persisted one is too weak)."""
    changes: dict[str, object] = {"redis_url": None}
    if "HERALD_ALLOWED_PRIVATE_NETWORKS" not in environ:
        changes["allowed_private_networks"] = LOOPBACK_NETWORKS
    if served_at and "HERALD_PUBLIC_URL" not in environ:
        changes["public_url"] = served_at
    if not settings.secret_key:
        key = _persisted_secret(DEV_SECRET_KEY, lambda: secrets.token_urlsafe(32))
        changes["secret_key"] = check_secret_key(key, str(DEV_STATE_DIR / DEV_SECRET_KEY))
    return settings.with_changes(**changes)


def run_dev(settings: Settings, args: argparse.Namespace) -> int:
    from app.dev import serve_dev

    try:
        settings = dev_settings(settings, os.environ, f"http://{args.host}:{args.port}")
    except ConfigError as exc:
        print(f"herald: {exc}", file=sys.stderr)
        return 2
    return serve_dev(settings, args.host, args.port, args.threads)


def _persisted_secret(name: str, make: Callable[[], str]) -> str:
    """A development secret kept in ./.herald/ so restarts keep the same value."""
    path = DEV_STATE_DIR / name
    if path.exists():
        return path.read_text().strip()
    DEV_STATE_DIR.mkdir(exist_ok=True)
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


if __name__ == "__main__":
    sys.exit(main())
