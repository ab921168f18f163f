"""The `gateway` command (also `python -m gateway`)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from aiohttp import web
from pymongo import uri_parser
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from gateway.auth.issue import keyring_from, operator_token
from gateway.auth.scopes import Role
from gateway.core.errors import BadUserInput, GatewayError
from gateway.core.heap import settle_heap_once_started
from gateway.core.loglines import MessageFormatter
from gateway.http.malformed import MalformedRequestLog
from gateway.settings import Settings, SettingsError, load_settings
from gateway.storage.runtime import connected, resolved_store
from gateway.storage.store import StoreError
from loaders import all_indexes

log = logging.getLogger("gateway")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0..65535; 0 picks a free one)")
    return port


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default after its help; "(required)" for required ones."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.required and action.option_strings:
            return f"{text} (required)"
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (`gateway: …`) and exit code 2, like every bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"gateway: {self.prog.removeprefix('gateway ')}: {message}\n")


def _parser() -> argparse.ArgumentParser:
    kw: dict[str, Any] = {"formatter_class": _HelpFormatter}
    parser = _Parser(prog="gateway", description=__doc__, **kw)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser(
        "serve", help="run the gateway (embedded store if no MONGODB_URI)", **kw,
        description="Serve /graphql, the REST endpoints and /metrics until SIGTERM or SIGINT; "
        "without MONGODB_URI the embedded store runs under GATEWAY_DATA_DIR.",
    )  # fmt: skip
    serve.add_argument("--host", help="address to listen on (default: GATEWAY_HOST, 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port,
        help="TCP port (default: GATEWAY_PORT, 8000); 0 picks a free port and prints it",
    )  # fmt: skip

    seed = sub.add_parser("seed", help="load data", description="Load data.", **kw)
    seed.add_argument(
        "--demo", action="store_true", required=True,
        help="idempotent demo data: two partners with staff, app keys, vouchers, members, "
        "activations, fans and tickets",
    )  # fmt: skip
    seed.add_argument(
        "--json",
        action="store_true",
        help="print the credentials it made as JSON on stdout (default: off)",
    )

    sub.add_parser(
        "export-schema", help="print the GraphQL SDL", description="Print the SDL on stdout.", **kw
    )

    admin = sub.add_parser(
        "admin", help="onboarding without the API", description="Onboarding without the API.",
        **kw,
    ).add_subparsers(dest="admin_command", required=True, parser_class=_Parser)  # fmt: skip
    token = admin.add_parser(
        "token", help="print an operator token", **kw,
        description="Print an operator JWT (lifetime GATEWAY_OPERATOR_TOKEN_TTL_SECONDS).",
    )  # fmt: skip
    token.add_argument("--name", default="cli", help="who the token is for (its subject)")
    partner = admin.add_parser(
        "create-partner", help="create a partner, print its id", **kw,
        description="Create a partner and print its id (par_…).",
    )  # fmt: skip
    partner.add_argument("--name", required=True, help="display name, 2..120 characters, unique")
    staff = admin.add_parser(
        "create-staff", help="create a partner staff account", **kw,
        description="Create a staff login for a partner.",
    )  # fmt: skip
    staff.add_argument("--partner", required=True, help="the partner's id (par_…)")
    staff.add_argument("--email", required=True, help="login email, unique")
    staff.add_argument("--password", required=True, help="10..256 characters")
    staff.add_argument(
        "--role", choices=[r.value for r in Role], default=Role.OWNER.value,
        help="scopes of the account (README: Staff roles and scopes)",
    )  # fmt: skip
    staff.add_argument("--name", help="display name (default: none)")
    client = admin.add_parser(
        "create-app-client", help="create an app client, print its key", **kw,
        description="Create an app client for a partner and print its API key (shown once).",
    )  # fmt: skip
    client.add_argument("--partner", required=True, help="the partner's id (par_…)")
    client.add_argument("--name", required=True, help="display name, 1..80 characters")

    operations = sub.add_parser(
        "operations", help="persisted operations", description="Persisted operations.", **kw
    ).add_subparsers(dest="operations_command", required=True, parser_class=_Parser)
    register = operations.add_parser(
        "register", help="safelist every operation in DIR/**/*.graphql (by SHA-256)", **kw,
        description="Check every DIR/**/*.graphql file against the schema, then store each "
        "under the SHA-256 of its text (GATEWAY_SAFELIST=true runs only these).",
    )  # fmt: skip
    register.add_argument("directory", type=Path, help="directory of .graphql files")
    measure = operations.add_parser(
        "measure", help="depth/aliases/directives/tokens/cost of operations under PATHs", **kw,
        description="Measure every operation in .graphql files and Python string constants.",
    )  # fmt: skip
    measure.add_argument("paths", nargs="+", type=Path, help="files or directories")
    return parser


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MessageFormatter())  # lets access lines skip the record (loglines)
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # Lines are the message alone: no record needs its caller's frame, thread or process
    # (logging's documented optimisation flags; the caller lookup walks the stack for
    # every access-log line).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # PyMongo's command log (DEBUG) holds whole documents (emails, password hashes): never on.
    logging.getLogger("pymongo").setLevel(logging.WARNING)


# Option names of the CLI for the input fields the data layer names in BadUserInput.
OPTION_OF_FIELD = {"name": "--name", "email": "--email", "password": "--password",
                   "partnerId": "--partner", "role": "--role"}  # fmt: skip


def _mongo_hosts(uri: str | None) -> str:
    """Host:port list of a MongoDB URI (never its credentials or options)."""
    try:
        nodes = uri_parser.parse_uri(uri or "")["nodelist"]
    except (PyMongoError, ValueError):
        return "MongoDB"
    return ",".join(f"{host}:{port}" for host, port in nodes) or "MongoDB"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; every expected failure is one line on stderr and exit code 2."""
    args = _parser().parse_args(argv)
    _configure_logging()
    settings: Settings | None = None
    try:
        settings = load_settings()
        return COMMANDS[args.command](args, settings)
    except (SettingsError, StoreError, CliError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
    except BadUserInput as exc:
        option = OPTION_OF_FIELD.get(exc.field or "", exc.field)
        print(f"gateway: {option + ': ' if option else ''}{exc.message}", file=sys.stderr)
    except GatewayError as exc:
        print(f"gateway: {exc.message}", file=sys.stderr)
    except (ServerSelectionTimeoutError, AutoReconnect) as exc:
        del exc  # its text is a topology dump with every address tried
        where = _mongo_hosts(settings.mongodb_uri if settings else None)
        print(f"gateway: MongoDB at {where} is not reachable (check MONGODB_URI)", file=sys.stderr)
    except PyMongoError as exc:
        print(f"gateway: MongoDB error: {str(exc).splitlines()[0][:200]}", file=sys.stderr)
    except OSError as exc:  # e.g. a data dir that cannot be written (JWT dev keys, demo secrets)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"gateway: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2


class CliError(Exception):
    """An expected failure of a command, printed as its one line."""


def _listen_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts (a busy port is found at once)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"--host {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"port {port} on {host} is already in use (choose another with --port)"
            ) from None
        raise CliError(f"cannot listen on {host}:{port} (--host/--port): {exc.strerror}") from None
    return sock


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    sock = _listen_socket(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host

    def announce(_: str) -> None:
        # Printed once the app has started (store up, indexes ensured): ready for requests.
        print(f"gateway: listening on http://{shown}:{bound}", file=sys.stderr, flush=True)

    with sock, resolved_store(settings) as resolved:
        app = serving_app(resolved)
        web.run_app(
            app, sock=sock, print=announce, access_log=None, logger=MalformedRequestLog()
        )
    return 0


def serving_app(settings: Settings) -> web.Application:
    """The app `gateway serve` runs: `create_app`'s, settling the collector once started
    (`gateway.core.heap`; not in `create_app`: tests build many apps in one process)."""
    from gateway.app import create_app

    app = create_app(settings)
    app.on_startup.append(settle_heap_once_started)
    return app


def _run_with_db(settings: Settings, work: Callable[[Any, Settings], Awaitable[Any]]) -> Any:
    with resolved_store(settings) as resolved:

        async def runner() -> Any:
            async with connected(resolved, all_indexes()) as db:
                return await work(db, resolved)

        return asyncio.run(runner())


SEED_COUNTED = ("staff", "vouchers", "members", "products", "activations", "fans", "tickets")


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.demo import seed_demo

    async def work(db: Any, resolved: Settings) -> dict[str, Any]:
        report = await seed_demo(db, resolved)
        ids = {"partner_id": {"$in": [p["id"] for p in report["partners"]]}}
        counts = [f"{await db[c].count_documents(ids)} {c}" for c in SEED_COUNTED]
        names = ", ".join(p["name"] for p in report["partners"])
        print(f"gateway: seeded {names}: {', '.join(counts)}", file=sys.stderr, flush=True)
        return report

    report = _run_with_db(settings, work)
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
            raise CliError(f"--partner: partner {args.partner} not found")
        if command == "create-staff":
            doc = await identity.insert_staff(
                db, args.partner, args.email, args.password, Role(args.role), args.name or ""
            )
            return str(doc["_id"])
        _client, key = await identity.insert_app_client(db, args.partner, args.name)
        return key

    try:
        print(_run_with_db(settings, work))
    except DuplicateKeyError:
        what = {
            "create-partner": f"--name: a partner named {getattr(args, 'name', '')!r}",
            "create-staff": f"--email: a staff account with {getattr(args, 'email', '')!r}",
        }.get(command, f"--name: an app client named {getattr(args, 'name', '')!r}")
        raise CliError(f"{what} already exists") from None
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
