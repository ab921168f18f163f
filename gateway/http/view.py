"""The Strawberry view at /graphql: credentials to principal, context, JSON encoding."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeGuard

import orjson
from aiohttp import WSCloseCode, hdrs, web
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from strawberry.aiohttp.views import GraphQLView as StrawberryAiohttpView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.base import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.auth.authenticate import bearer_from_header, principal_from_credentials
from gateway.auth.principal import ANONYMOUS, Principal
from gateway.context import Context, Services
from gateway.core.errors import GatewayError
from gateway.http.accesslog import note_errors
from gateway.http.keys import SERVICES
from gateway.http.lean import LeanPost
from gateway.http.protocol import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    check_parameters,
    is_request_error,
    negotiate,
)
from gateway.http.security import graphql_error_response
from gateway.http.wsprotocol import FanoutWSHandler
from gateway.live.guard import ConnectionGuard, close_socket
from gateway.settings import Settings
from schema.extensions import public_error

PRINCIPAL_KEY = web.RequestKey("principal", Principal)
# The response being built for this request (Strawberry's sub-response) and its media type.
SUB_RESPONSE = web.RequestKey("graphql_sub_response", web.Response)
MEDIA_TYPE = web.RequestKey("graphql_media_type", str)
GUARD_KEY = web.RequestKey("websocket_guard", ConnectionGuard)


class SubResponse(web.Response):
    """Strawberry's sub-response, knowing the media type negotiated for the request."""

    def __init__(self, media_type: str) -> None:
        super().__init__()
        self.media_type = media_type


def error_body(exc: GatewayError) -> dict[str, Any]:
    return {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}


async def principal_for_request(services: Services, request: web.Request) -> Principal:
    """Principal from the request's headers; raises Unauthenticated on a bad credential."""
    return await principal_from_credentials(
        services.db,
        services.keyring,
        bearer=bearer_from_header(request.headers.get("Authorization")),
        api_key=request.headers.get("X-API-Key"),
        crm_public_key=request.headers.get("Api-Key"),
        crm_secret_key=request.headers.get("Api-Secret"),
        sessions=services.sessions,
    )


class GraphQLView(StrawberryAiohttpView[Context, None]):
    """Strawberry's aiohttp view with the gateway's context and orjson encoding.

    Only `graphql-transport-ws` is offered for WebSockets: the legacy `graphql-ws`
    subprotocol let clients skip `connection_init` (CVE-2026-35523).
    """

    graphql_transport_ws_handler_class = FanoutWSHandler

    def __init__(self, schema: BaseSchema, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            schema,
            graphql_ide=None,  # the vendored GraphiQL page: gateway.http.pages
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            allowed_origins=settings.cors_origins,  # WebSocket handshakes: Origin check
            **kwargs,
        )
        self.settings = settings
        # Cached single POST operations skip Strawberry's run()/execute (gateway.http.lean).
        self.lean = LeanPost.for_schema(schema) if settings.lean_post else None
        # Open WebSockets with their requests, by id() of the request.
        self.sockets: dict[int, tuple[web.Request, web.WebSocketResponse]] = {}
        self.guard_tasks: set[asyncio.Task[None]] = set()  # strong refs until each ends

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        media_type = request[MEDIA_TYPE] = negotiate(request.headers.get("Accept"))
        principal: Principal | None = None
        websocket = self.is_websocket_request(request)
        if not websocket:
            try:
                principal = await principal_for_request(request.app[SERVICES], request)
            except GatewayError as exc:
                return web.Response(
                    status=401, body=orjson.dumps(error_body(exc)), content_type=media_type
                )
            request[PRINCIPAL_KEY] = principal
        try:
            if self.lean is not None and principal is not None:
                response = await self.lean.answer(self, request, principal)
                if response is not None:
                    return response
            return await self.run(request=request)
        except HTTPException as exc:
            # Transport-level refusals (batching, bad JSON, GET mutation…) as GraphQL errors.
            return graphql_error_response(exc.status_code, exc.reason, content_type=media_type)
        except web.HTTPRequestEntityTooLarge:
            limit = self.settings.max_body_bytes
            return graphql_error_response(
                413, f"Request body too large (limit {limit} bytes).", content_type=media_type
            )
        finally:
            if websocket:  # only a WebSocket has a guard or an entry in `sockets`
                guard = request.get(GUARD_KEY)
                if guard is not None:
                    guard.stop()
                self.sockets.pop(id(request), None)

    async def close_websockets(self, app: web.Application) -> None:
        """On shutdown: close open WebSockets with 1001 so clients reconnect elsewhere."""
        await asyncio.gather(
            *(
                close_socket(request, ws, WSCloseCode.GOING_AWAY, "Server shutting down")
                for request, ws in tuple(self.sockets.values())
            )
        )

    def is_websocket_request(self, request: web.Request) -> TypeGuard[web.Request]:
        # Strawberry builds a WebSocketResponse to ask, three times per request; without an
        # `Upgrade` header aiohttp's handshake refuses at its first check anyway.
        if hdrs.UPGRADE not in request.headers:
            return False
        return super().is_websocket_request(request)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET carrying only an APQ hash (`?extensions=…`) is an operation, not the IDE.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def create_websocket_response(
        self, request: web.Request, subprotocol: str | None
    ) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            protocols=[subprotocol] if subprotocol else [],
            max_msg_size=self.settings.ws_max_message_bytes,
            # Shared subscription frames are written as they are to every socket
            # (gateway.http.wsprotocol): no per-connection deflate state.
            compress=False,
        )
        await ws.prepare(request)
        self.sockets[id(request)] = (request, ws)
        return ws

    async def get_context(
        self, request: web.Request, response: web.Response | web.WebSocketResponse
    ) -> Context:
        principal: Principal = request.get(PRINCIPAL_KEY, ANONYMOUS)
        return Context.build(request.app[SERVICES], principal, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from its `connection_init` payload, or close it with 4403.

        Accepted payloads: `{"authorization": "Bearer …"}` (with `"apiKey"` for members),
        `{"apiKey": "…"}`, or `{"token": "tok_…"}` for one activation's stats; an empty one
        (`{}`) makes an anonymous connection. A credential that does not hold is 4403.
        """
        params = context.connection_params
        if not isinstance(params, Mapping):
            raise ConnectionRejectionError()
        values = {name: params.get(name) for name in ("authorization", "apiKey", "token")}
        if any(v is not None and not isinstance(v, str) for v in values.values()):
            raise ConnectionRejectionError()
        services = context.services

        async def authenticate() -> Principal:
            return await principal_from_credentials(
                services.db,
                services.keyring,
                bearer=bearer_from_header(values["authorization"]),
                api_key=values["apiKey"],
                activation_token=values["token"],
                sessions=services.sessions,
            )

        async def still_valid() -> bool:
            try:
                await authenticate()
            except GatewayError:
                return False
            return True

        if all(v is None for v in values.values()):
            # No credential at all: an anonymous connection, for operations that carry their
            # own (`activationStatsUpdated(activationId, token)`); guarded fields refuse the rest.
            anonymous: UnsetType = UNSET
            return anonymous
        try:
            principal = await authenticate()
        except GatewayError:
            raise ConnectionRejectionError() from None
        if not principal.is_authenticated:
            raise ConnectionRejectionError()
        context.principal = principal
        context.fresh_loaders()
        request, ws = context.request, context.response
        if request is None or not isinstance(ws, web.WebSocketResponse):
            raise TypeError("on_ws_connect runs inside a WebSocket request")
        guard = request[GUARD_KEY] = ConnectionGuard(
            request, ws, services.hub, principal, still_valid
        )
        self.guard_tasks.add(task := asyncio.create_task(guard.run()))
        task.add_done_callback(self.guard_tasks.discard)
        acknowledged: UnsetType = UNSET
        return acknowledged

    async def get_sub_response(self, request: web.Request) -> web.Response:
        sub_response = SubResponse(request.get(MEDIA_TYPE, APPLICATION_JSON))
        request[SUB_RESPONSE] = sub_response
        return sub_response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's parsing, but every parameter checked first (never a 500 for a
        body that is a string, a number, `null`, or has an `operationName` object)."""
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "GET":
            data: Any = self.parse_query_params(request.query_params)
        elif content_type == APPLICATION_JSON:
            data = self.parse_json(await request.get_body())
        else:
            raise HTTPException(400, "Send the operation as `Content-Type: application/json`.")
        items = data if isinstance(data, list) else [data]
        if isinstance(data, list):
            self._validate_batch_request(data, protocol="http")
        checked = [check_parameters(item) for item in items]
        parsed = [
            GraphQLRequestData(
                query=item.get("query"),
                variables=item.get("variables"),
                operation_name=item.get("operationName"),
                extensions=item.get("extensions"),
                protocol="http",
            )
            for item in checked
        ]
        return parsed if isinstance(data, list) else parsed[0]

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except orjson.JSONDecodeError as exc:
            # orjson says why (invalid UTF-8, a lone surrogate, nesting past 1,024...), never
            # echoing the input.
            raise HTTPException(400, f"Invalid JSON: {exc.msg}.") from None

    def decode_json(self, data: str | bytes) -> object:
        # orjson: strict UTF-8 (no lone surrogates), bounded nesting; also WebSocket frames.
        return orjson.loads(data)

    async def process_result(
        self, request: web.Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if not result.errors:  # nothing to code, count or turn into a status
            return process_result(result)
        # Parse errors never reach schema extensions; give them their public code here too.
        masked = request.app[SERVICES].settings.errors_masked
        result.errors = [public_error(e, masked) for e in result.errors]
        note_errors(request, result.errors)
        processed = process_result(result)
        sub_response = request.get(SUB_RESPONSE)
        if sub_response is None:  # pragma: no cover - WebSocket results are not processed here
            return processed
        if any(
            (error.extensions or {}).get("code") == "RATE_LIMITED" for error in result.errors
        ):
            sub_response.set_status(429)  # Retry-After and X-RateLimit-*: security.install
        elif request.get(MEDIA_TYPE) == GRAPHQL_RESPONSE_JSON and is_request_error(
            result.data, result.errors
        ):
            # GraphQL over HTTP: a request error is a 400 and has no `data` entry.
            processed.pop("data", None)
            if sub_response.status < 400:
                sub_response.set_status(400)
        return processed

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: web.Response,
    ) -> web.Response:
        response = super().create_response(response_data, sub_response)
        if isinstance(sub_response, SubResponse):
            response.content_type = sub_response.media_type
        response.charset = "utf-8"
        return response

    def encode_json(self, data: object) -> str:
        # str, not bytes: the WebSocket adapter would send bytes as binary frames.
        return orjson.dumps(data).decode()
