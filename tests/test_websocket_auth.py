"""WebSocket (`graphql-transport-ws`) connection authentication from `connection_init`."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from tests.conftest import World
from tests.live import close_code

PROTOCOL = "graphql-transport-ws"


async def init(client: TestClient[Any, Any], payload: Any) -> tuple[str, Any]:
    """Send connection_init; returns ("ack", payload) or ("close", code)."""
    async with client.ws_connect("/graphql", protocols=[PROTOCOL]) as ws:
        await ws.send_json({"type": "connection_init", "payload": payload})
        message = await ws.receive(timeout=10)
        if message.type == WSMsgType.TEXT:
            return "ack", message.json()
        return "close", close_code(ws, message)


@pytest.mark.parametrize(
    "payload",
    [
        {"authorization": "Bearer not-a-jwt"},
        {"authorization": "Basic abc"},
        {"apiKey": "gk_unknown_key"},
        {"token": "tok_unknown"},
        {"authorization": {"$ne": None}},
    ],
)
async def test_bad_or_missing_credentials_close_with_4403(
    client: TestClient[Any, Any], world: World, payload: Any
) -> None:
    assert await init(client, payload) == ("close", 4403)


async def test_an_empty_init_is_an_anonymous_connection(client: TestClient[Any, Any]) -> None:
    # Operations carrying their own credential (a token argument) run on it; see
    # tests/test_bad_input.py for the guarded ones it refuses.
    kind, message = await init(client, {})
    assert kind == "ack" and message["type"] == "connection_ack"


async def test_a_malformed_init_payload_closes_with_4400(client: TestClient[Any, Any]) -> None:
    assert await init(client, "a string") == ("close", 4400)
    assert await init(client, None) == ("close", 4400)


async def test_each_credential_kind_is_acknowledged(
    client: TestClient[Any, Any], world: World
) -> None:
    for payload in (
        {"authorization": world.a_owner.headers["Authorization"]},
        {"authorization": world.operator.headers["Authorization"]},
        {"apiKey": world.a_app.extra["key"]},
        {
            "authorization": world.a_member.headers["Authorization"],
            "apiKey": world.a_app.extra["key"],
        },
    ):
        kind, message = await init(client, payload)
        assert kind == "ack" and message["type"] == "connection_ack", payload


async def test_member_token_over_websocket_needs_its_app_key(
    client: TestClient[Any, Any], world: World
) -> None:
    alone = {"authorization": world.a_member.headers["Authorization"]}
    assert await init(client, alone) == ("close", 4403)
    other_app = {**alone, "apiKey": world.b_app.extra["key"]}
    assert await init(client, other_app) == ("close", 4403)


async def test_legacy_graphql_ws_subprotocol_is_refused(client: TestClient[Any, Any]) -> None:
    # CVE-2026-35523: the legacy protocol let clients skip connection_init.
    async with client.ws_connect("/graphql", protocols=["graphql-ws"]) as ws:
        assert ws.protocol is None
        await ws.send_json(
            {"type": "start", "id": "1", "payload": {"query": "{ viewer { kind } }"}}
        )
        message = await ws.receive(timeout=10)
        assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)


async def test_messages_before_init_are_refused(client: TestClient[Any, Any]) -> None:
    async with client.ws_connect("/graphql", protocols=[PROTOCOL]) as ws:
        await ws.send_json(
            {"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { kind } }"}}
        )
        message = await ws.receive(timeout=10)
        assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
        assert close_code(ws, message) == 4401
