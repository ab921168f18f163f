"""gzip when the client asks for it (`Accept-Encoding: gzip`): GraphQL answers, CSV exports.

Small bodies are sent as they are (compressing a few hundred bytes costs more than it saves).
Streamed responses (CSV exports) call `compress_stream` before `prepare`; buffered ones get
`compress_buffered` from the edge middleware (`gateway.http.edge`) after the handler.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.web import ContentCoding

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


def compress_buffered(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """gzip a buffered answer of 1 kB or more, not yet sent, if the client accepts it."""
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
