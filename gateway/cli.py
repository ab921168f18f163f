"""The `gateway` command (also `python -m gateway`)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from pymongo.errors import DuplicateKeyError, PyMongoError

from gateway.auth.issue import keyring_from, operator_token
from gateway.auth.scopes import Role
from gateway.core.errors import GatewayError
from gateway.settings import Settings, SettingsError, load_settings
from gateway.storage.runtime import connected, resolved_store
from gateway.storage.store import StoreError
from loaders import all_indexes

log = logging.getLogger("gateway")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway (embedded store if no MONGODB_URI)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    seed = sub.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", required=True, help="idempotent demo data")
    seed.add_argument("--json", action="store_true", help="print the credentials it made")

    sub.add_parser("export-schema", help="print the GraphQL SDL")

    admin = sub.add_parser("admin", help="onboarding without the API").add_subparsers(
        dest="admin_command", required=True
    )
    token = admin.add_parser("token", help="print an operator token")
    token.add_argument("--name", default="cli")
    partner = admin.add_parser("create-partner", help="create a partner, print its id")
    partner.add_argument("--name", required=True)
    staff = admin.add_parser("create-staff", help="create a partner staff account")
    staff.add_argument("--partner", required=True)
    staff.add_argument("--email", required=True)
    staff.add_argument("--password", required=True)
    staff.add_argument("--role", choices=[r.value for r in Role], default=Role.OWNER.value)
    staff.add_argument("--name", default="")
    client = admin.add_parser("create-app-client", help="create an app client, print its key")
    client.add_argument("--partner", required=True)
    client.add_argument("--name", required=True)

    operations = sub.add_parser("operations", help="persisted operations").add_subparsers(
        dest="operations_command", required=True
    )
    register = operations.add_parser(
        "register", help="safelist every operation in DIR/**/*.graphql (by SHA-256)"
    )
    register.add_argument("directory", type=Path)
    measure = operations.add_parser(
        "measure", help="depth/aliases/directives/tokens/cost of operations under PATHs"
    )
    measure.add_argument("paths", nargs="+", type=Path)
    return parser


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; every expected failure is one line on stderr and a non-zero exit."""
    args = _parser().parse_args(argv)
    _configure_logging()
    try:
        settings = load_settings()
        return COMMANDS[args.command](args, settings)
    except (SettingsError, StoreError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"gateway: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except PyMongoError as exc:
        print(f"gateway: MongoDB error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.app import create_app

    host = args.host or settings.host
    port = args.port or settings.port
    with resolved_store(settings) as resolved:
        app = create_app(resolved)
        try:
            web.run_app(app, host=host, port=port, print=None, access_log=None)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                print(f"gateway: port {port} on {host} is already in use", file=sys.stderr)
                return 2
            print(f"gateway: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
            return 2
    return 0


def _run_with_db(settings: Settings, work: Callable[[Any, Settings], Awaitable[Any]]) -> Any:
    with resolved_store(settings) as resolved:

        async def runner() -> Any:
            async with connected(resolved, all_indexes()) as db:
                return await work(db, resolved)

        return asyncio.run(runner())


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.demo import seed_demo

    report = _run_with_db(settings, seed_demo)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        names = ", ".join(p["name"] for p in report["partners"])
        print(f"demo data ready for: {names} (use --json for credentials)")
    return 0


def _export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from schema import schema_sdl

    sys.stdout.write(schema_sdl())
    return 0


def _admin(args: argparse.Namespace, settings: Settings) -> int:
    from loaders import identity, partners

    command = args.admin_command
    if command == "token":
        print(operator_token(keyring_from(settings), settings, args.name).token)
        return 0

    async def work(db: Any, _: Settings) -> str:
        if command == "create-partner":
            return str((await partners.insert_partner(db, args.name))["_id"])
        if await db.partners.find_one({"_id": args.partner}) is None:
            raise GatewayError(f"no partner {args.partner}")
        if command == "create-staff":
            doc = await identity.insert_staff(
                db, args.partner, args.email, args.password, Role(args.role), args.name
            )
            return str(doc["_id"])
        _client, key = await identity.insert_app_client(db, args.partner, args.name)
        return key

    try:
        print(_run_with_db(settings, work))
    except DuplicateKeyError:
        print("gateway: already exists", file=sys.stderr)
        return 1
    return 0


def _operations(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.protection.limits import measure_sources
    from gateway.protection.persisted import read_operation_files, register_directory
    from schema import build_schema

    schema = build_schema(settings)._schema
    if args.operations_command == "measure":
        found = measure_sources(schema, args.paths)
        columns = ("depth", "aliases", "directives", "tokens", "cost")
        print("\t".join((*columns, "operation", "source")))
        for item in found:
            s = item.measures.stats
            values = (s.depth, s.aliases, s.directives, item.tokens, s.cost)
            print("\t".join((*map(str, values), item.name, item.source)))
        if found:
            maxima = (
                max(i.measures.stats.depth for i in found),
                max(i.measures.stats.aliases for i in found),
                max(i.measures.stats.directives for i in found),
                max(i.tokens for i in found),
                max(i.measures.stats.cost for i in found),
            )
            print("\t".join((*map(str, maxima), f"MAX of {len(found)} operations", "")))
        return 0
    read_operation_files(schema, args.directory)  # everything checks before any write

    async def work(db: Any, _: Settings) -> list[Any]:
        return await register_directory(db, schema, args.directory)

    for item in _run_with_db(settings, work):
        print(f"{item.sha256}  {item.path}  {', '.join(item.operation_names) or '(anonymous)'}")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "serve": _serve,
    "seed": _seed,
    "export-schema": _export_schema,
    "admin": _admin,
    "operations": _operations,
}
