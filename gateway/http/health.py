"""Plain HTTP endpoints: health, readiness, metrics; request timing middleware."""

from __future__ import annotations

import asyncio
import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import PyMongoError

from gateway.auth.authenticate import bearer_from_header
from gateway.core.errors import GatewayError
from gateway.http.keys import SERVICES
from gateway.settings import Settings

READY_TIMEOUT_SECONDS = 2.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    db = request.app[SERVICES].db
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await db.command("ping")
    except (PyMongoError, TimeoutError):
        return web.json_response({"status": "unavailable", "mongodb": "down"}, status=503)
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
