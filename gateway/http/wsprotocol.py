"""`graphql-transport-ws` with every message checked for its shape before Strawberry reads it.

Strawberry indexes messages as dicts; a frame that is JSON but not an object (`[1, 2]`, `"x"`,
`3`), or a `subscribe` whose `id`/`payload`/`query` has the wrong type, would raise inside the
handler (a traceback and an abrupt close). Here each such message closes the socket with 4400,
as the protocol prescribes for invalid messages, and the reason says what was wrong.

Live fan-out (`gateway.live.fanout`): every operation runs inside a `Ticket`. An event stream
whose share key already has a group joins it; otherwise its execution leads a new group and
each of its results is encoded once (`orjson`, then one WebSocket frame per operation id) and
the same bytes are written straight to every member's transport. The server writes frames
unmasked and uncompressed (the view refuses permessage-deflate), so a frame is the same for
every socket whose client chose the same operation id.

Backpressure is the client's: a member is cut off with `SLOW_SUBSCRIBER` (after the events
already written, then `complete`) when `GATEWAY_SUBSCRIPTION_QUEUE_SIZE` of its frames are
still waiting in its own transport buffer, i.e. its socket does not drain. The shared
execution never waits for a socket, and a server that is behind never cuts anybody.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import struct
from collections import deque
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    Message,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from gateway.context import Context
from gateway.live.fanout import TICKET, Group, Ticket, share_key
from gateway.live.hub import SlowSubscriber


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


def text_frame(data: bytes) -> bytes:
    """One unmasked, uncompressed WebSocket text frame (what a server sends)."""
    length = len(data)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + data


def next_frame(op_id: str, payload: bytes) -> bytes:
    """The `next` message for `op_id` with an encoded payload, byte for byte as
    `orjson.dumps({"id": …, "type": "next", "payload": …})`, framed."""
    head = b'{"id":' + orjson.dumps(op_id) + b',"type":"next","payload":'
    return text_frame(head + payload + b"}")


class SocketMember:
    """One subscriber of a group: writes shared frames to its own socket, if it drains."""

    __slots__ = (
        "_ends", "_written", "capacity", "cut", "done", "finished", "op_id", "request", "ws",
    )  # fmt: skip

    def __init__(
        self, op_id: str, request: web.Request, ws: web.WebSocketResponse, capacity: int
    ) -> None:
        self.op_id = op_id
        self.request, self.ws = request, ws
        self.capacity = capacity
        self.cut = False
        self.finished = False
        self.done = asyncio.Event()
        self._written = 0  # bytes this member handed to the transport
        self._ends: deque[int] = deque()  # where each of its frames ends in that count

    def ended(self) -> None:
        self.finished = True
        self.done.set()

    def waiting(self, buffered: int) -> int:
        """How many of its frames are still in the transport's buffer (not yet sent)."""
        sent = self._written - buffered
        ends = self._ends
        while ends and ends[0] <= sent:
            ends.popleft()
        return len(ends)

    def write(self, frame: bytes) -> None:
        # Runs once per member per event (10,000 times for a full group): keep it lean.
        if self.finished:
            return
        transport = self.request.transport
        if transport is None or transport.is_closing() or self.ws.closed:
            self.ended()  # the socket is gone: the handler's shutdown ends the operation
            return
        buffered = transport.get_write_buffer_size()
        if buffered and self.waiting(buffered) >= self.capacity:
            # Its socket does not drain: detach it, after what it already has.
            error = SlowSubscriber(self.capacity)
            body = {"data": None, "errors": [
                {"message": error.message, "extensions": {"code": error.code, **error.extensions}}
            ]}  # fmt: skip
            transport.write(next_frame(self.op_id, orjson.dumps(body)))
            self.cut = True
            self.ended()
            return
        transport.write(frame)
        if transport.get_write_buffer_size():
            self._written += len(frame)
            self._ends.append(self._written)
        else:  # all of it went to the kernel: nothing of this member's is waiting
            self._written = 0
            self._ends.clear()


def publish(group: Group, result: ExecutionResult) -> None:
    """Encode `result` once and write it to every member of `group`."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    body = orjson.dumps(payload)
    frames: dict[str, bytes] = {}
    group.events += 1
    for member in tuple(group.members):
        if isinstance(member, SocketMember):
            op_id = member.op_id
            frame = frames.get(op_id)
            if frame is None:
                frame = frames[op_id] = next_frame(op_id, body)
            member.write(frame)


class FanoutWSHandler(TransportWSHandler):
    """`TransportWSHandler` whose event streams share executions (module docstring)."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        request, ws = self.context.request, self.context.response
        if request is None or not isinstance(ws, web.WebSocketResponse):
            raise TypeError("a WebSocket operation runs inside a WebSocket request")
        member = SocketMember(
            operation.id, request, ws, self.context.settings.subscription_queue_size
        )
        key = share_key(
            operation.query, operation.operation_name, operation.variables,
            self.context.principal,
        )  # fmt: skip
        ticket = Ticket(key, member)
        scope = contextvars.copy_context()
        scope.run(TICKET.set, ticket)
        # Its own task: a stream that comes to lead a group outlives this operation.
        source = asyncio.create_task(self._run_source(operation, ticket), context=scope)

        def settle(task: asyncio.Task[None]) -> None:
            if ticket.group is None:  # its own stream: done when it ends (grouped: the group)
                member.ended()
            self._task_done(task)

        source.add_done_callback(settle)
        try:
            await member.done.wait()
            if ticket.group is not None and not (ws.closed or request.transport is None):
                await operation.send_operation_message(
                    CompleteMessage(id=operation.id, type="complete")
                )
        except asyncio.CancelledError:
            if not ticket.leads:
                source.cancel()
            raise
        finally:
            if ticket.group is not None:
                ticket.group.remove(member)

    async def _run_source(self, operation: Operation[Context, None], ticket: Ticket) -> None:
        """Strawberry's `run_operation`, publishing to the group when this stream leads one."""
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                first = True
                async for result in result_source:
                    if ticket.leads and ticket.group is not None:
                        if isinstance(result, ExecutionResult):
                            publish(ticket.group, result)
                        continue
                    if first and isinstance(result, PreExecutionError):
                        await self._handle_pre_execution_error(operation, result)
                        return
                    if not isinstance(result, ExecutionResult):
                        await self._reject_incremental_delivery(operation)
                        return
                    await operation.send_next(result)
                    first = False
            if ticket.group is None:
                await operation.send_operation_message(
                    CompleteMessage(id=operation.id, type="complete")
                )
        except (_OperationStreamClosed, WebSocketDisconnected):
            # WebSocketDisconnected: the client went away mid-send; the connection's shutdown
            # ends its operations. Not an error worth a traceback (Strawberry logs one).
            return
        except Exception as error:  # pragma: no cover - Strawberry's own last resort
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise
        finally:
            if ticket.leads and ticket.group is not None:
                ticket.group.end()
