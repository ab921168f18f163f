"""Structured access logs: one JSON line per request on the `gateway.access` logger.

Fields: `requestId` (the caller's `X-Request-ID` when it matches a safe pattern,
else 32 random hex digits; echoed in the response header), `method`, `path` (never the query
string: tokens travel in some URLs), `status`, `durationMs`, `principal`
(`{kind, id}`), `operations` (`[{name, type, documentHash}]`), `outcome` (`ok` |
`error`), `errorCodes`, `mongoCommands` (MongoDB commands sent for the request), and
`suppressed` when similar error lines were left out before this one.

Nothing from headers, query strings, variables, bodies or GraphQL documents is logged
(a document's inline literals may be a password or a token: only its SHA-256 is), so
bearer tokens, API keys, activation tokens and passwords never reach the log. Error lines
are throttled per caller, path, status and error codes (`ERROR_LINES`), so the log grows
with the number of distinct mistakes, not with a hostile client's request rate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextvars import Token
from typing import Any

import orjson
from aiohttp import web
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.auth.principal import Principal
from gateway.core import loglines
from gateway.core.logthrottle import LogThrottle
from gateway.http.keys import SERVICES
from gateway.storage.mongo import REQUEST_COMMANDS

log = logging.getLogger("gateway.access")

SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SAFE_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
MAX_OPERATIONS_LOGGED = 20
# Error lines per (path, status, error codes, caller): 10 a minute, then one with a count.
ERROR_LINES = LogThrottle(burst=10, window=60.0)

REQUEST_ID = web.RequestKey("request_id", str)
OPERATIONS = web.RequestKey("graphql_operations", list[dict[str, Any]])
ERROR_CODES: web.RequestKey[set[str]] = web.RequestKey("graphql_error_codes")
LOG_PRINCIPAL = web.RequestKey("log_principal", Principal)


def document_hash(text: str) -> str:
    """SHA-256 of the document text (the APQ hash of valid UTF-8 text)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def request_id_for(request: web.Request) -> str:
    """The caller's `X-Request-ID` when it is safe to log and echo, else a fresh id: 32
    lowercase hex digits from the OS's CSPRNG (as unguessable as `uuid4().hex` and as
    long, without building a UUID object: a fifth of its cost, issue 15)."""
    incoming = request.headers.get("X-Request-ID")
    if incoming is not None and SAFE_REQUEST_ID.match(incoming):
        return incoming
    return os.urandom(16).hex()


def note_errors(request: web.Request | None, errors: Iterable[GraphQLError]) -> None:
    """Record the public error codes of a GraphQL result for the access log."""
    if request is None:
        return
    codes = request.get(ERROR_CODES)
    if codes is None:
        return
    for error in errors:
        code = (error.extensions or {}).get("code")
        codes.add(code if isinstance(code, str) else "UNKNOWN")


# What `start_request` hands to `finish_request`: the request id, the command count, the
# context variable's reset token and the start time.
Entry = tuple[str, list[int], Token[list[int] | None], float]


def start_request(request: web.Request) -> Entry:
    """Before anything else runs for a request (the edge middleware, `gateway.http.edge`):
    its id, the lists the view fills, and the MongoDB command count from here on."""
    request_id = request_id_for(request)
    request[REQUEST_ID] = request_id
    request[OPERATIONS] = []
    request[ERROR_CODES] = set()
    commands = [0]
    token = REQUEST_COMMANDS.set(commands)
    return request_id, commands, token, time.perf_counter()


def finish_request(request: web.Request, entry: Entry, status: int) -> None:
    """After everything (whatever happened; `status` 500 for an escaping exception): the
    request-duration histogram and the log line."""
    request_id, commands, token, started = entry
    REQUEST_COMMANDS.reset(token)
    elapsed = time.perf_counter() - started
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    request.app[SERVICES].metrics.http_duration_child(route, status).observe(elapsed)
    # No line to build where the access log is switched off (a level above INFO).
    if log.isEnabledFor(logging.INFO):
        _log_line(request, request_id, status, elapsed, route, commands[0])


def _log_line(
    request: web.Request, request_id: str, status: int, elapsed: float, route: str, commands: int
) -> None:
    principal = request.get(LOG_PRINCIPAL)
    noted: set[str] = request[ERROR_CODES]
    codes = sorted(noted)
    record = {
        "requestId": request_id,
        "method": request.method,
        "path": request.path,  # no query string, ever
        "status": status,
        "durationMs": round(elapsed * 1000, 2),
        "principal": {
            "kind": principal.kind.value if principal else None,
            "id": principal.subject_id if principal else None,
        },
        "operations": request[OPERATIONS],
        "outcome": "error" if status >= 400 or codes else "ok",
        "errorCodes": codes,
        "mongoCommands": commands,
    }
    suppressed: int | None = 0
    if record["outcome"] == "error":
        # Repeated errors of one caller (same route, status and codes) are counted, not
        # written: a hostile client's request rate does not become log volume. The route,
        # not the path: random ids or unknown paths must not make every line a new key.
        caller = (principal.kind.value, principal.subject_id) if principal else request.remote
        suppressed = ERROR_LINES.admit((route, status, tuple(codes), caller))
    if suppressed:
        record["suppressed"] = suppressed
    if suppressed is not None:
        line = orjson.dumps(record).decode()
        handler = loglines.direct_handler(log, logging.INFO)
        if handler is None:
            log.info(line)
        else:  # the CLI's own stderr handler alone: the same text without a LogRecord
            loglines.write(handler, log, logging.INFO, line)


def install(app: web.Application) -> None:
    """Echo the request id on every response (also error responses aiohttp builds)."""

    async def add_request_id(request: web.Request, response: web.StreamResponse) -> None:
        request_id = request.get(REQUEST_ID)
        if request_id is not None:
            response.headers["X-Request-ID"] = request_id

    app.on_response_prepare.append(add_request_id)


def note_operation(
    request: web.Request,
    principal: Principal,
    name: str | None,
    operation_type: str | None,
    digest: str | None,
) -> None:
    """Record the caller and one operation (safe name, type, document hash) for the access
    log line; the document itself never: inline literals may be passwords or tokens."""
    request[LOG_PRINCIPAL] = principal
    operations = request.get(OPERATIONS)
    if operations is None or len(operations) >= MAX_OPERATIONS_LOGGED:
        return
    operations.append(
        {
            "name": name if name and SAFE_NAME.match(name) else None,
            "type": operation_type,
            "documentHash": digest,
        }
    )


class OperationLog(SchemaExtension):
    """Notes the principal and each operation's name and type for the access log."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            self._note()

    def _note(self) -> None:
        ctx = self.execution_context
        request = getattr(ctx.context, "request", None)
        if not isinstance(request, web.Request):
            return
        try:
            op_type: str | None = ctx.operation_type.value
        except Exception:  # no parsable document: nothing to name
            op_type = None
        digest = document_hash(ctx.query) if ctx.query else None
        note_operation(request, ctx.context.principal, ctx.operation_name, op_type, digest)
