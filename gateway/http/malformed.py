"""Requests that are not valid HTTP: one throttled warning line, never a traceback.

aiohttp answers a request its parser refuses (bad `Content-Length`, a request line over
8 KiB, binary garbage) with a 400 itself, before any middleware runs, and logs it with
`logger.exception`: a traceback per request, with the offending bytes (which may hold a
header's secret) in the exception text. `MalformedRequestLog` is passed to the server as
its `logger`: a parse error becomes one warning naming only the error kind and the client,
throttled per kind; every other server error is logged as aiohttp does.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

from gateway.core.logthrottle import LogThrottle

SERVER_LOGGER = "aiohttp.server"


class MalformedRequestLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger, with parse errors as one-line, throttled warnings."""

    def __init__(self, throttle: LogThrottle | None = None) -> None:
        super().__init__(logging.getLogger(SERVER_LOGGER), {})
        self.throttle = throttle or LogThrottle(burst=5, window=60.0)

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kw: Any) -> None:
        if not isinstance(exc_info, HttpProcessingError):
            super().exception(msg, *args, exc_info=exc_info, **kw)
            return
        kind = type(exc_info).__name__
        left_out = self.throttle.admit(kind)
        if left_out is None:
            return
        client = args[0] if args else None
        more = f" ({left_out} more since the last such line)" if left_out else ""
        self.warning("malformed HTTP request from %s refused with 400: %s%s", client, kind, more)
