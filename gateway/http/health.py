"""Plain HTTP endpoints: health, readiness, metrics; request timing middleware."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import PyMongoError

from gateway.http.keys import SERVICES

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


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[SERVICES].metrics.registry
    body = generate_latest(registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
