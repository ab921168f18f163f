"""The aiohttp application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import strawberry
from aiohttp import web
from pymongo.errors import InvalidOperation

from gateway.auth.issue import keyring_from
from gateway.context import Services
from gateway.core.metrics import Metrics
from gateway.http import (
    accesslog,
    affiliate_exports,
    exports,
    health,
    pages,
    partner_stats,
    security,
    tracking,
)
from gateway.http.edge import edge_middleware
from gateway.http.keys import SERVICES, SETTINGS, STORE_HEALTH
from gateway.http.view import GraphQLView
from gateway.live.hub import ChangeHub
from gateway.live.sessions import SessionCache
from gateway.protection.extensions import protection_extensions
from gateway.protection.ratelimit import close_limiter, limiter_for
from gateway.settings import Settings
from gateway.storage.health import HEARTBEAT_MS, StoreHealth
from gateway.storage.indexes import ensure_indexes
from gateway.storage.mongo import CommandTally, database, open_client
from gateway.storage.store import supervised_store
from loaders import all_indexes
from loaders.crm.search_fields import backfill_search_fields
from loaders.crm.text_search import backfill_text_grams
from schema import build_schema

TALLY = web.AppKey("command_tally", CommandTally)


def gateway_schema(settings: Settings | None) -> strawberry.Schema:
    """The schema with the gateway's extensions: access-log note, then protection."""
    return build_schema(settings, [accesslog.OperationLog, *protection_extensions(settings)])


def create_app(settings: Settings) -> web.Application:
    """Build the gateway app. Nothing connects until the app starts.

    `settings.mongodb_uri` must be set by then (the CLI fills it in with the
    embedded store's URI when the environment has none).
    """
    # The supervisor is known when this process runs the embedded store at that URI.
    store_health = StoreHealth(supervised_store(settings.mongodb_uri or ""))
    app = web.Application(
        # Access log, compression, transport guard, GraphiQL page, store outage: one layer.
        middlewares=[edge_middleware(settings, store_health)],
        client_max_size=settings.max_body_bytes,
    )
    security.install(app, settings)
    accesslog.install(app)
    app[SETTINGS] = settings
    metrics = Metrics()
    app[TALLY] = CommandTally(metrics)
    app[STORE_HEALTH] = store_health
    schema = gateway_schema(settings)

    async def mongo_ctx(app: web.Application) -> AsyncIterator[None]:
        if not settings.mongodb_uri:
            raise RuntimeError("MONGODB_URI is not set and no embedded store was started")
        client = open_client(
            settings.mongodb_uri, app[TALLY], settings.mongo_timeout_ms,
            heartbeat_ms=HEARTBEAT_MS,
            selection_timeout_ms=settings.mongo_server_selection_timeout_ms,
        )  # fmt: skip
        store_health.watch(client)
        try:
            db = database(client, settings.db_name)
            await ensure_indexes(db, all_indexes())
            # Fans stored before the search's trigrams get them once (a no-op afterwards).
            await backfill_text_grams(db)
            # …and every other pre-computed / derived search field (rating, networks, metro
            # area, last campaign, birth day, activity time): a no-op afterwards too.
            await backfill_search_fields(db)
            hub = ChangeHub(db, metrics, ready_timeout=settings.mongo_timeout_ms / 1000)
            sessions = SessionCache(hub)
            services = Services(
                settings=settings, db=db, keyring=keyring_from(settings), metrics=metrics, hub=hub,
                sessions=sessions,
            )  # fmt: skip
            app[SERVICES] = services
            limiter_for(db, settings)  # this app's limiter; its sync task starts on first use
            sessions.start()
            try:
                yield
            finally:
                await close_limiter(db)
                sessions.close()
                await hub.close()
        finally:
            # A client closed already (by a test, or a failed start) has nothing left to free.
            with contextlib.suppress(InvalidOperation):
                await client.close()

    app.cleanup_ctx.append(mongo_ctx)
    view = GraphQLView(schema, settings)
    app.router.add_route("*", "/graphql", view)
    app.on_shutdown.append(view.close_websockets)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", health.metrics)
    partner_stats.register(app)
    app.router.add_routes(affiliate_exports.EXPORT_ROUTES)
    app.router.add_routes(tracking.ROUTES)
    exports.register(app)
    pages.register(app)
    return app
