"""Plain HTTP endpoints (health, readiness, metrics) and the store-outage answers.

During a store outage (see gateway.storage.health) every data route answers at once
with 503, `Retry-After` and a GraphQL-shaped JSON error coded INTERNAL_SERVER_ERROR,
instead of each request waiting out the driver's server selection; `/readyz` is 503
until the store answers again. A driver connection error that escapes any handler
(before the GraphQL layer could mask it, e.g. while reading an API key) becomes the
same JSON answer, never aiohttp's plain-text 500. The message never names the store.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import ConnectionFailure, PyMongoError

from gateway.auth.authenticate import bearer_from_header
from gateway.core.errors import GatewayError
from gateway.http.keys import SERVICES, STORE_HEALTH
from gateway.http.security import graphql_error_response
from gateway.settings import Settings
from schema.extensions import STORE_UNAVAILABLE_MESSAGE

READY_TIMEOUT_SECONDS = 2.0
RETRY_AFTER_SECONDS = 1
UNAVAILABLE_MESSAGE = STORE_UNAVAILABLE_MESSAGE
# Answered without the store: liveness, readiness (its own check) and metrics.
UNGATED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

log = logging.getLogger("gateway.http")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    down = web.json_response({"status": "unavailable", "mongodb": "down"}, status=503)
    if not request.app[STORE_HEALTH].available:
        return down
    db = request.app[SERVICES].db
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await db.command("ping")
    except (PyMongoError, TimeoutError):
        return down
    return web.json_response({"status": "ready", "mongodb": "up"})


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def metrics_allowed(request: web.Request, settings: Settings) -> bool:
    """`/metrics` for whom: the bearer of GATEWAY_METRICS_TOKEN when one is set; without a
    token, anyone in development and demo, loopback callers only in production."""
    if settings.metrics_token:
        try:
            sent = bearer_from_header(request.headers.get("Authorization")) or ""
        except GatewayError:  # another scheme than Bearer
            return False
        return hmac.compare_digest(sent.encode(), settings.metrics_token.encode())
    return not settings.is_production or request.remote in LOOPBACK


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if not metrics_allowed(request, services.settings):
        return web.json_response(
            {"errors": [{"message": "Metrics need the metrics token.",
                         "extensions": {"code": "FORBIDDEN"}}]},
            status=403,
        )  # fmt: skip
    registry = services.metrics.registry
    body = generate_latest(registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def unavailable_response() -> web.Response:
    response = graphql_error_response(503, UNAVAILABLE_MESSAGE, code="INTERNAL_SERVER_ERROR")
    response.headers[hdrs.RETRY_AFTER] = str(RETRY_AFTER_SECONDS)
    return response


def store_error_response(request: web.Request, exc: PyMongoError) -> web.Response | None:
    """A driver error that escaped a gated handler, as coded JSON (logged); None on a
    WebSocket, whose socket is already open: nothing to answer with, the error goes on.

    The edge middleware (`gateway.http.edge`) answers UNGATED_PATHS without the store check
    and without this; other paths get `unavailable_response` at once while the store is down
    (see the module docstring), and this when a driver error escapes.
    """
    if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
        return None
    if isinstance(exc, ConnectionFailure):
        log.warning("store unreachable during %s %s", request.method, request.path)
        return unavailable_response()
    log.exception("store error during %s %s", request.method, request.path)
    return graphql_error_response(500, "Internal server error.", code="INTERNAL_SERVER_ERROR")
