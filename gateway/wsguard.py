"""Ends a WebSocket when its credential expires or is revoked.

Every authenticated connection runs one guard task: it sleeps until the token's expiry
and listens (through the change hub, no polling) to the documents that can revoke the
credential. On a change it authenticates the connection's original credentials again; if
they no longer hold, or the token expired, the socket closes with 4403 and a reason, and
the client reconnects with a fresh credential.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.auth.principal import Principal
from gateway.auth.revocation import revoking_documents
from gateway.changes import Change, ChangeHub, Listener
from loaders.base import utcnow

log = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
TOKEN_EXPIRED = "Token expired"  # noqa: S105 - a close reason
CREDENTIAL_REVOKED = "Credential revoked"
_RECHECK_RETRY_SECONDS = 1.0


class _Signal:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    def deliver(self, change: Change) -> None:
        self.event.set()


async def close_socket(
    request: web.Request, ws: web.WebSocketResponse, code: int, reason: str, within: float = 10.0
) -> None:
    """Close with `code`; a peer that stopped reading cannot hold the close open."""
    try:
        await asyncio.wait_for(ws.close(code=code, message=reason.encode()), within)
    except TimeoutError:
        if request.transport is not None:
            request.transport.abort()


async def guard_connection(
    request: web.Request,
    ws: web.WebSocketResponse,
    hub: ChangeHub,
    principal: Principal,
    still_valid: Callable[[], Awaitable[bool]],
) -> None:
    """Run until the credential expires or is revoked, then close `ws` with 4403."""
    signal = _Signal()
    listeners = [
        Listener(collection, "_id", document_id, signal)
        for collection, document_id in revoking_documents(principal)
    ]
    async with hub.listening(*listeners):
        # A revocation between authentication and listening would otherwise go unseen.
        signal.event.set()
        reason = None
        while reason is None:
            timeout = None
            if principal.expires_at is not None:
                timeout = max(0.0, (principal.expires_at - utcnow()).total_seconds())
            try:
                await asyncio.wait_for(signal.event.wait(), timeout)
            except TimeoutError:
                reason = TOKEN_EXPIRED
                break
            signal.event.clear()
            try:
                if not await still_valid():
                    reason = CREDENTIAL_REVOKED
            except Exception:
                # The store is unreachable: keep the connection, decide once it answers.
                log.warning("could not re-check a WebSocket credential; retrying", exc_info=True)
                await asyncio.sleep(_RECHECK_RETRY_SECONDS)
                signal.event.set()
    await close_socket(request, ws, CLOSE_FORBIDDEN, reason)
