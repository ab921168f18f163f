"""A small graphql-transport-ws client for the subscription tests (real WebSocket frames)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from gateway.http.keys import SERVICES

PROTOCOL = "graphql-transport-ws"


class Closed(Exception):
    """The server closed the socket; `code` and `reason` say why."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


def close_code(ws: aiohttp.ClientWebSocketResponse, message: aiohttp.WSMessage) -> int | None:
    """The code the server closed with: its close frame's own when `message` is that frame.

    aiohttp's automatic close reply sets `ws.close_code` to 1006 when the server has already
    dropped the TCP connection (RFC 6455: the server closes it first), a race seen in CI."""
    if message.type == WSMsgType.CLOSE:
        code: int = message.data
        return code
    return ws.close_code


class LiveClient:
    """One graphql-transport-ws connection: init, subscribe, read messages."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    @classmethod
    async def connect(
        cls, session: Any, url: str = "/graphql", payload: Mapping[str, Any] | None = None,
        within: float = 10,
    ) -> LiveClient:  # fmt: skip
        """Open, send connection_init with `payload`, and require connection_ack within `within`."""
        ws = await session.ws_connect(url, protocols=[PROTOCOL])
        client = cls(ws)
        await ws.send_json({"type": "connection_init", "payload": dict(payload or {})})
        ack = await client.message(within)
        assert ack["type"] == "connection_ack", ack
        return client

    async def subscribe(
        self, op_id: str, query: str, variables: Mapping[str, Any] | None = None
    ) -> None:
        payload = {"query": query, "variables": dict(variables or {})}
        await self.ws.send_json({"id": op_id, "type": "subscribe", "payload": payload})

    async def message(self, within: float = 10) -> dict[str, Any]:
        """The next protocol message (pings answered); raises Closed when the socket closes."""
        while True:
            raw = await self.ws.receive(timeout=within)
            if raw.type == WSMsgType.TEXT:
                message: dict[str, Any] = json.loads(raw.data)
                if message["type"] == "ping":
                    await self.ws.send_json({"type": "pong"})
                    continue
                return message
            if raw.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                raise Closed(close_code(self.ws, raw), str(raw.extra or ""))
            raise AssertionError(f"unexpected frame {raw.type}")

    async def next_data(self, op_id: str, within: float = 10) -> dict[str, Any]:
        """The data of the next `next` message for `op_id` (errors fail the test)."""
        message = await self.message(within)
        assert message["id"] == op_id and message["type"] == "next", message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def silent_for(self, seconds: float) -> None:
        """Assert nothing arrives for `seconds`."""
        try:
            message = await self.message(within=seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected silence, got {message}")

    async def closed(self, within: float = 10) -> Closed:
        """Wait for the server to close the socket."""
        try:
            message = await self.message(within)
        except Closed as closed:
            return closed
        raise AssertionError(f"expected the socket to close, got {message}")

    async def close(self) -> None:
        await self.ws.close()


def active_subscriptions(app: web.Application) -> float:
    value = app[SERVICES].metrics.registry.get_sample_value("gateway_active_subscriptions")
    return value or 0.0


async def until_subscribed(app: web.Application, count: int, within: float = 30) -> None:
    """Wait until `count` subscriptions are listening (their change streams are open)."""
    deadline = asyncio.get_running_loop().time() + within
    while active_subscriptions(app) < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{active_subscriptions(app)} of {count} subscriptions listening")
        await asyncio.sleep(0.02)


class StalledClient:
    """A raw WebSocket client that stops reading: its tiny receive buffer fills up, so the
    server's sends to it block, the way a client on a stalled network behaves."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, host: str, port: int, payload: Mapping[str, Any]) -> StalledClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # before connect: small window
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2048)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        client = cls(reader, writer)
        client.send({"type": "connection_init", "payload": dict(payload)})
        assert (await client.read())["type"] == "connection_ack"
        return client

    def send(self, message: Mapping[str, Any]) -> None:
        data = json.dumps(message).encode()
        mask = os.urandom(4)
        length = len(data)
        if length < 126:
            header = struct.pack("!BB", 0x81, 0x80 | length)
        else:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(header + mask + masked)

    async def read(self, within: float = 30) -> dict[str, Any]:
        """The next text message (a close frame raises Closed)."""
        async with asyncio.timeout(within):
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await self.reader.readexactly(length)
        if first & 0x0F == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            raise Closed(code, payload[2:].decode())
        message: dict[str, Any] = json.loads(payload)
        return message

    def close(self) -> None:
        self.writer.close()
