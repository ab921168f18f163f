"""gzip when the client asks for it (`Accept-Encoding: gzip`): GraphQL answers, CSV exports.

Small bodies are sent as they are (compressing a few hundred bytes costs more than it saves).
Streamed responses (CSV exports) call `compress_stream` before `prepare`; buffered ones are
handled by the middleware after the handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.web import ContentCoding

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MIN_COMPRESS_BYTES = 1024


def wants_gzip(request: web.BaseRequest) -> bool:
    accepted = request.headers.get(hdrs.ACCEPT_ENCODING, "").lower()
    for part in accepted.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def compress_stream(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """gzip a streamed response if the client accepts it (call before `prepare`)."""
    if wants_gzip(request):
        response.enable_compression(ContentCoding.gzip)


@web.middleware
async def compression_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if (
        isinstance(response, web.Response)
        and not response.prepared
        and response.body is not None
        and isinstance(response.body, bytes)
        and len(response.body) >= MIN_COMPRESS_BYTES
        and hdrs.CONTENT_ENCODING not in response.headers
        and wants_gzip(request)
    ):
        response.enable_compression(ContentCoding.gzip)
    return response
