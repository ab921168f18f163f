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
from gateway.core.clock import utcnow
from gateway.live.hub import Change, ChangeHub, Listener

log = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
TOKEN_EXPIRED = "Token expired"  # noqa: S105 - a close reason
CREDENTIAL_REVOKED = "Credential revoked"
_RECHECK_RETRY_SECONDS = 1.0


async def close_socket(
    request: web.Request, ws: web.WebSocketResponse, code: int, reason: str, within: float = 10.0
) -> None:
    """Close with `code`; a peer that stopped reading cannot hold the close open."""
    try:
        await asyncio.wait_for(ws.close(code=code, message=reason.encode()), within)
    except TimeoutError:
        if request.transport is not None:
            request.transport.abort()


class ConnectionGuard:
    """Closes one WebSocket with 4403 when its credential expires or is revoked."""

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        hub: ChangeHub,
        principal: Principal,
        still_valid: Callable[[], Awaitable[bool]],
    ) -> None:
        self.request, self.ws, self.hub = request, ws, hub
        self.principal = principal
        self.still_valid = still_valid
        self._wake = asyncio.Event()
        self._stopped = False

    def deliver(self, change: Change) -> None:
        self._wake.set()

    def stop(self) -> None:
        """The socket closed: end at the next wake-up (not cancel(), see ChangeHub)."""
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        listeners = [
            Listener(collection, "_id", document_id, self)
            for collection, document_id in revoking_documents(self.principal)
        ]
        async with self.hub.listening(*listeners):
            reason = await self._until_refused()
        if reason is not None:
            await close_socket(self.request, self.ws, CLOSE_FORBIDDEN, reason)

    async def _until_refused(self) -> str | None:
        # A revocation between authentication and listening would otherwise go unseen.
        self._wake.set()
        expires_at = self.principal.expires_at
        while True:
            timeout = None
            if expires_at is not None:
                timeout = max(0.0, (expires_at - utcnow()).total_seconds())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                return TOKEN_EXPIRED
            self._wake.clear()
            if self._stopped:
                return None
            try:
                if not await self.still_valid():
                    return CREDENTIAL_REVOKED
            except Exception:
                # The store is unreachable: keep the connection, decide once it answers.
                log.warning("could not re-check a WebSocket credential; retrying", exc_info=True)
                await asyncio.sleep(_RECHECK_RETRY_SECONDS)
                self._wake.set()
