"""The pages people use, served by the gateway itself from files in the package.

- `/` - the partners' dashboard (sign-in, then overview, activations, live feed, lists).
- `/stats/{activationId}?token=…` - the event host's read-only page for one activation.
- `/graphql` opened by a browser (no operation, `Accept: text/html`) - the vendored GraphiQL
  where it is enabled (development, demo), else an HTML page saying it is disabled.
- `/static/…` - the pages' scripts, styles and vendored libraries (no CDN, no build step).

Every page carries a CSP that allows scripts, styles and connections from this origin only
and no inline script (GraphiQL's page also allows inline *styles*: its editor sets them).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiohttp import hdrs, web

from gateway.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
GRAPHQL_PATH = "/graphql"

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
GRAPHIQL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


@cache
def _page(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def html(name: str, *, csp: str = PAGE_CSP, status: int = 200) -> web.Response:
    """One of the package's HTML pages with its CSP; never cached (pages may carry tokens)."""
    return web.Response(
        text=_page(name),
        status=status,
        content_type="text/html",
        headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"},
    )


async def dashboard(request: web.Request) -> web.Response:
    return html("index.html")


async def host_stats(request: web.Request) -> web.Response:
    # The token stays in the query string for the page's script; nothing logs query strings.
    return html("stats.html")


def wants_ide(request: web.Request) -> bool:
    """A browser opening /graphql: GET, HTML accepted, no operation, not a WebSocket."""
    return (
        request.path == GRAPHQL_PATH
        and request.method == hdrs.METH_GET
        and "text/html" in request.headers.get(hdrs.ACCEPT, "")
        and request.headers.get(hdrs.UPGRADE, "").lower() != "websocket"
        and "query" not in request.query
        and "extensions" not in request.query
    )


def ide_page(request: web.Request, settings: Settings) -> web.Response | None:
    """A browser's GET /graphql: GraphiQL or the "disabled" page; None for anything else
    (called by the edge middleware, `gateway.http.edge`, before routing to the view)."""
    if not wants_ide(request):
        return None
    if settings.graphiql_enabled:
        return html("graphiql.html", csp=GRAPHIQL_CSP)
    return html("graphiql-disabled.html", status=404)


def register(app: web.Application) -> None:
    """Add the page routes and the static files to the app."""
    app.router.add_get("/", dashboard)
    app.router.add_get("/stats/{activation_id}", host_stats)
    app.router.add_static("/static", STATIC_DIR, append_version=False)
    app.on_response_prepare.append(_revalidate_static)


async def _revalidate_static(request: web.Request, response: web.StreamResponse) -> None:
    # Revalidated on every use (a cheap 304): after an upgrade no page runs old scripts.
    if request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-cache")
