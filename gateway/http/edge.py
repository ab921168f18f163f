"""The one middleware around every route: the steps of the access log, compression, the
transport guard, the GraphiQL page and the store-outage answer, in that order.

They were five middlewares; each step's logic stays in its module, and this runs them in
one coroutine frame instead of five nested ones (issue 15: the fixed CPU cost per request).
Outermost first:

1. `accesslog`: request id, MongoDB command count, then (whatever happened) the
   request-duration histogram and the log line;
2. `compression`: gzip of a buffered answer, after everything below;
3. `security`: CORS preflights, the declared body size, CSRF, the body read within its
   timeout (refusals are answered here and still logged and compressed);
4. `pages`: GraphiQL or its "disabled" page for a browser's GET /graphql;
5. `health`: at once 503 while the store is down (not for `/healthz`, `/readyz`,
   `/metrics`), and a driver error escaping a handler as coded JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from pymongo.errors import PyMongoError

from gateway.http import accesslog, compression, health, pages, security
from gateway.settings import Settings
from gateway.storage.health import StoreHealth

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def edge_middleware(settings: Settings, store_health: StoreHealth) -> Middleware:
    """The app's middleware (its only one) for these settings and this store's health."""
    guard = security.TransportGuard(settings)
    ungated = health.UNGATED_PATHS

    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        entry = accesslog.start_request(request)
        status = 500  # an exception other than an HTTP one escapes
        try:
            response: web.StreamResponse | None = guard.refusal(request)
            if response is None and request.body_exists:
                response = await security.read_body(request, settings)
            if response is None:
                response = pages.ide_page(request, settings)
            if response is None:
                if request.path in ungated:
                    response = await handler(request)
                elif not store_health.available:
                    response = health.unavailable_response()
                else:
                    try:
                        response = await handler(request)
                    except PyMongoError as exc:
                        response = health.store_error_response(request, exc)
                        if response is None:
                            raise
            compression.compress_buffered(request, response)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            accesslog.finish_request(request, entry, status)

    return edge
