"""`graphql-transport-ws` with every message checked for its shape before Strawberry reads it.

Strawberry indexes messages as dicts; a frame that is JSON but not an object (`[1, 2]`, `"x"`,
`3`), or a `subscribe` whose `id`/`payload`/`query` has the wrong type, would raise inside the
handler (a traceback and an abrupt close). Here each such message closes the socket with 4400,
as the protocol prescribes for invalid messages, and the reason says what was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from gateway.context import Context


def message_problem(message: object) -> str | None:
    """Why this message is malformed, or None when Strawberry may read it."""
    if not isinstance(message, Mapping):
        return "A message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message needs a string `type`"
    if kind in ("subscribe", "complete") and not isinstance(message.get("id"), str):
        return f"A `{kind}` message needs a string `id`"
    if kind == "subscribe":
        payload = message.get("payload")
        if not isinstance(payload, Mapping):
            return "A `subscribe` message needs an object `payload`"
        if not isinstance(payload.get("query"), str):
            return "The `subscribe` payload needs a string `query`"
        for name, types in (
            ("variables", Mapping),
            ("extensions", Mapping),
            ("operationName", str),
        ):
            value = payload.get(name)
            if value is not None and not isinstance(value, types):
                return f"The `subscribe` payload's `{name}` has the wrong type"
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's handler, closing with 4400 on any malformed message."""

    async def handle_message(self, message: Message) -> None:
        raw: Any = message
        problem = message_problem(raw)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)
