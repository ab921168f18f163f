"""Staff sessions cached per process, dropped by the change stream: no read per request,
and revocation as immediate as before (gateway/live/sessions.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.http.keys import SERVICES
from gateway.live.sessions import COLLECTION
from gateway.storage.mongo import Database
from tests.conftest import World

VIEWER = "{ viewer { kind } }"
LOGOUT = "mutation { logout }"
REFRESH = (
    "mutation($token: String!) { refreshSession(refreshToken: $token) "
    "{ accessToken refreshToken } }"
)


async def ask(
    client: TestClient[Any, Any], headers: dict[str, str], query: str = VIEWER, **kw: Any
) -> tuple[int, dict[str, Any]]:
    response = await client.post("/graphql", json={"query": query, **kw}, headers=headers)
    return response.status, await response.json()


async def watching_sessions(app: web.Application) -> None:
    hub = app[SERVICES].hub
    for _ in range(200):  # opened in the background at start-up
        if hub.watching(COLLECTION):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the sessions watcher did not open")


def commands_per_request(caplog: pytest.LogCaptureFixture) -> list[int]:
    lines = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "gateway.access"]
    return [int(line["mongoCommands"]) for line in lines]


async def test_a_cached_session_costs_no_read(
    client: TestClient[Any, Any], app: web.Application, world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # given the sessions watcher is open
    await watching_sessions(app)
    caplog.set_level(logging.INFO, logger="gateway.access")
    # when a staff member sends three requests
    for _ in range(3):
        status, body = await ask(client, world.a_owner.headers)
        assert status == 200 and body["data"]["viewer"]["kind"] == "STAFF"
    # then only the first reads the session
    assert commands_per_request(caplog) == [1, 0, 0]


async def test_logout_refuses_the_old_access_token_at_once(
    client: TestClient[Any, Any], app: web.Application, world: World
) -> None:
    # given a session that is cached
    await watching_sessions(app)
    for _ in range(2):
        assert (await ask(client, world.a_owner.headers))[0] == 200
    # when the staff member logs out
    status, body = await ask(client, world.a_owner.headers, LOGOUT)
    assert (status, body["data"]) == (200, {"logout": True})
    # then the very next request with the old access token is refused
    status, body = await ask(client, world.a_owner.headers)
    assert status == 401
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_refresh_token_reuse_refuses_the_access_token_at_once(
    client: TestClient[Any, Any], app: web.Application, world: World
) -> None:
    await watching_sessions(app)
    assert (await ask(client, world.a_owner.headers))[0] == 200
    refresh = world.a_owner.extra["refresh"]
    status, body = await ask(client, {}, REFRESH, variables={"token": refresh})
    assert status == 200 and body["data"]["refreshSession"]["accessToken"]
    # when the spent refresh token is presented again (reuse: the session ends)
    _, body = await ask(client, {}, REFRESH, variables={"token": refresh})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # then the session's access token is refused at once
    status, _ = await ask(client, world.a_owner.headers)
    assert status == 401


async def test_a_revocation_written_by_another_instance_reaches_the_cache(
    client: TestClient[Any, Any], app: web.Application, world: World, db: Database
) -> None:
    # given a cached session
    await watching_sessions(app)
    assert (await ask(client, world.a_owner.headers))[0] == 200
    assert (await ask(client, world.a_owner.headers))[0] == 200
    # when another instance (here: the store directly) revokes it
    await db.sessions.update_one(
        {"_id": world.a_owner.extra["session"]}, {"$set": {"revoked": True}}
    )
    # then the change stream drops it and the token is refused (bounded real wait)
    for _ in range(100):
        status, _ = await ask(client, world.a_owner.headers)
        if status == 401:
            break
        await asyncio.sleep(0.05)
    assert status == 401
    # and other sessions are unaffected
    assert (await ask(client, world.b_owner.headers))[0] == 200


async def test_sessions_of_two_staff_are_cached_apart(
    client: TestClient[Any, Any], app: web.Application, world: World
) -> None:
    await watching_sessions(app)
    for persona in (world.a_owner, world.b_owner, world.a_owner):
        assert (await ask(client, persona.headers))[0] == 200
    assert (await ask(client, world.a_owner.headers, LOGOUT))[0] == 200
    assert (await ask(client, world.a_owner.headers))[0] == 401
    assert (await ask(client, world.b_owner.headers))[0] == 200
