"""Transport hardening: CSRF prevention, CORS, body size cap, security headers.

- CSRF: a browser sends GET and POST with `text/plain`, form or multipart bodies
  cross-site without a CORS preflight. Such requests to /graphql are refused (400)
  unless they carry a header that forces a preflight (`Apollo-Require-Preflight`,
  `X-Apollo-Operation-Name` or any other `X-…` header such as `X-API-Key`), or are
  `Content-Type: application/json` POSTs. WebSocket handshakes are checked by Origin
  instead (the view's `allowed_origins`).
- CORS: only origins listed in `GATEWAY_CORS_ORIGINS` get `Access-Control-*`
  headers; preflights from other origins are 403. No `*` together with credentials.
- Bodies above `GATEWAY_MAX_BODY_BYTES` are 413 (declared length checked here, the
  streamed length by aiohttp's `client_max_size`); a body not complete within
  `GATEWAY_BODY_TIMEOUT_SECONDS` is 408 and the connection is closed.
- Security headers on every response; `Cache-Control: no-store` on API paths; HSTS
  in production; a strict CSP (pages set their own: same origin only, no inline script).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import hdrs, web
from strawberry.http.websocket_origin import normalize_origin

from gateway.protection.ratelimit import RATE_DECISION
from gateway.settings import Settings

GRAPHQL_PATH = "/graphql"
NO_STORE_PREFIXES = ("/graphql", "/export/", "/api/")
# Custom headers a browser never sends cross-site without a preflight (the CRM key headers
# of seed 002 included), so a request carrying one cannot be a CSRF.
PREFLIGHT_HEADERS = frozenset(
    {"apollo-require-preflight", "x-apollo-operation-name", "api-key", "api-secret"}
)
ALLOWED_REQUEST_HEADERS = (
    "Authorization, Content-Type, X-API-Key, X-Request-ID, Apollo-Require-Preflight, "
    "X-Apollo-Operation-Name, Api-Key"
)
EXPOSED_HEADERS = (
    "X-Request-ID, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
    "X-RateLimit-Retry-After"
)
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=63072000; includeSubDomains"
SERVER_NAME = "oooc-gateway"  # no versions: they only help an attacker pick an exploit
PREFLIGHT_MAX_AGE = "600"

CSRF_MESSAGE = (
    "This request has been blocked as a potential cross-site request forgery. Send "
    "`Content-Type: application/json`, or a non-empty `Apollo-Require-Preflight` (or "
    "`X-Apollo-Operation-Name`) header."
)


def graphql_error_response(
    status: int,
    message: str,
    code: str = "BAD_USER_INPUT",
    content_type: str = "application/json",
    **extensions: Any,
) -> web.Response:
    """A GraphQL-shaped error body for failures outside GraphQL execution."""
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    response = web.Response(status=status, body=orjson.dumps(body), content_type=content_type)
    response.charset = "utf-8"
    return response


def _is_websocket_upgrade(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


def needs_preflight_header(request: web.Request) -> bool:
    """True for /graphql requests a browser could send cross-site without a preflight."""
    if request.path != GRAPHQL_PATH:
        return False
    if request.method == hdrs.METH_GET:
        if _is_websocket_upgrade(request):
            return False
        # No operation: the GraphiQL page (development) or a 404; nothing executes.
        return "query" in request.query or "extensions" in request.query
    if request.method == hdrs.METH_POST:
        return request.content_type != "application/json"
    return False


def has_preflight_header(request: web.Request) -> bool:
    return any(
        (name.lower() in PREFLIGHT_HEADERS or name.lower().startswith("x-")) and value
        for name, value in request.headers.items()
    )


class Cors:
    """The CORS allow-list (`GATEWAY_CORS_ORIGINS`)."""

    def __init__(self, settings: Settings) -> None:
        self.origins = frozenset(normalize_origin(o) or o for o in settings.cors_origins)
        self.wildcard = "*" in self.origins
        self.credentials = settings.cors_allow_credentials

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def allow_origin(self, origin: str | None) -> str | None:
        """The `Access-Control-Allow-Origin` value for this origin, or None."""
        if origin is None or not self.origins:
            return None
        normalized = normalize_origin(origin)
        if normalized is not None and normalized in self.origins:
            return origin
        if self.wildcard and not self.credentials:
            return "*"
        return None

    def headers(self, allowed: str) -> dict[str, str]:
        headers = {"Access-Control-Allow-Origin": allowed}
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers


async def read_body(request: web.Request, settings: Settings) -> web.Response | None:
    """Read the whole body up front, within GATEWAY_BODY_TIMEOUT_SECONDS; the refusal (408,
    413) when it does not arrive in time or is too large, else None.

    A body that stops short of its Content-Length (or a trickled one) would otherwise hold
    the socket and its buffers for as long as the client likes. aiohttp caches what was read,
    so handlers read the same bytes again for free.
    """
    timeout = settings.body_timeout_seconds
    try:
        if request.content.is_eof():
            # A body that came in whole with the headers (the usual small POST) is read
            # without waiting: no timer to arm and cancel.
            await request.read()
        else:
            async with asyncio.timeout(timeout):
                await request.read()
    except TimeoutError:
        response = graphql_error_response(
            408, f"The request body did not arrive within {timeout:g} s."
        )
        response.force_close()
        # Sent now and the socket closed: aiohttp would otherwise linger up to 10 s more
        # reading the rest of the body.
        await response.prepare(request)
        await response.write_eof()
        if request.transport is not None:
            request.transport.close()
        return response
    except web.HTTPRequestEntityTooLarge:
        return graphql_error_response(
            413, f"Request body too large (limit {settings.max_body_bytes} bytes)."
        )
    return None


class TransportGuard:
    """The transport checks before authentication and routing (run by the edge middleware,
    `gateway.http.edge`): CORS preflights, the declared body size, CSRF, then the body read
    within its timeout (`read_body`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cors = Cors(settings)

    def refusal(self, request: web.Request) -> web.Response | None:
        """The answer to a preflight, or the refusal of a request; None to go on."""
        settings, cors = self.settings, self.cors
        origin = request.headers.get(hdrs.ORIGIN)
        if request.method == hdrs.METH_OPTIONS and hdrs.ACCESS_CONTROL_REQUEST_METHOD in (
            request.headers
        ):
            allowed = cors.allow_origin(origin)
            if allowed is None:
                return web.Response(status=403, text="CORS origin not allowed")
            return web.Response(
                status=204,
                headers={
                    **cors.headers(allowed),
                    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                    "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS,
                    "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                },
            )
        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            return graphql_error_response(
                413, f"Request body too large (limit {settings.max_body_bytes} bytes)."
            )
        if needs_preflight_header(request) and not has_preflight_header(request):
            return graphql_error_response(400, CSRF_MESSAGE)
        return None


def install(app: web.Application, settings: Settings) -> None:
    """Add the response headers hook (security, CORS, rate limit) to the app."""
    cors = Cors(settings)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers["Server"] = SERVER_NAME  # aiohttp's default names Python's and its own version
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        # Pages (gateway.http.pages) set their own, only slightly wider, policy.
        headers.setdefault("Content-Security-Policy", STRICT_CSP)
        if request.path.startswith(NO_STORE_PREFIXES):
            headers["Cache-Control"] = "no-store"
        if settings.is_production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if cors.enabled:
            headers.add(hdrs.VARY, "Origin")
            allowed = cors.allow_origin(request.headers.get(hdrs.ORIGIN))
            if allowed is not None:
                headers.update(cors.headers(allowed))
                headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        decision = request.get(RATE_DECISION)
        if decision is not None:
            headers.update(decision.headers())

    app.on_response_prepare.append(add_headers)
