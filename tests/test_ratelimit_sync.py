"""Rate limits without a round trip: local counts per process, reconciled through MongoDB.

The bound under test (README "Rate limiting"): one process is exact; another process
learns a bucket's units within one sync interval (`GATEWAY_RATE_LIMIT_SYNC_MS`).
Windows are one day long so that no window boundary falls inside a test.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database
from tests.activations_fixtures import given_activation
from tests.conftest import World, error_codes
from tests.hardening_fixtures import MakeClient, make_client
from tests.processes import gateway_process

__all__ = ["make_client"]

DAY = 86_400
SYNC_MS = 100
VIEWER = "{ viewer { kind } }"  # cost 2
STATS = (
    "query($id: ID!, $token: String!) { activationStats(activationId: $id, token: $token) "
    "{ metrics { clickCount } } }"
)  # cost 3
STATS_AND_VIEWER = (
    "query($id: ID!, $token: String!) { viewer { kind } "
    "activationStats(activationId: $id, token: $token) { metrics { clickCount } } }"
)
LIMITED: dict[str, Any] = {
    "rate_limit": True,
    "rate_limit_window_seconds": DAY,
    "rate_limit_sync_ms": SYNC_MS,
}


async def ask(
    client: TestClient[Any, Any], headers: dict[str, str], query: str = VIEWER, **kw: Any
) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = await client.post("/graphql", json={"query": query, **kw}, headers=headers)
    return response.status, dict(response.headers), await response.json()


async def counted(db: Database, prefix: str, expected: int) -> None:
    """Wait (bounded) until the store's counters of `prefix` add up to `expected`."""
    deadline = time.monotonic() + 5
    total = -1
    while time.monotonic() < deadline:
        rows = await db.rate_limits.find({"_id": {"$regex": f"^{prefix}"}}).to_list(None)
        total = sum(int(r["count"]) for r in rows)
        if total == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{prefix}: {total} units in the store, expected {expected}")


# --- no round trip -----------------------------------------------------------------------


async def test_a_charged_request_sends_no_mongodb_command(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given rate limiting on
    client = await make_client(**LIMITED, rate_limit_anonymous_cost=100)
    caplog.set_level(logging.INFO, logger="gateway.access")
    # when an anonymous caller sends `{ __typename }` (no data, no credential) three times
    for expected_remaining in ("99", "98", "97"):
        status, headers, _ = await ask(client, {}, "{ __typename }")
        # then each is charged (the headers count down)
        assert (status, headers["X-RateLimit-Remaining"]) == (200, expected_remaining)
    # and not one request sent a MongoDB command (the limiter syncs in the background)
    lines = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "gateway.access"]
    assert [line["mongoCommands"] for line in lines] == [0, 0, 0]


async def test_units_reach_the_store_within_a_sync_interval(
    make_client: MakeClient, world: World, db: Database
) -> None:
    client = await make_client(**LIMITED, rate_limit_cost=100)
    for _ in range(3):
        await ask(client, world.a_owner.headers)
    await counted(db, f"staff:{world.a_owner.subject_id}|", 6)


# --- two instances -------------------------------------------------------------------------


async def test_a_second_instance_in_the_process_counts_the_first_ones_units_after_a_sync(
    make_client: MakeClient, world: World, db: Database
) -> None:
    # given two apps (two instances) on one database, 10 units per window
    first = await make_client(**LIMITED, rate_limit_cost=10)
    second = await make_client(**LIMITED, rate_limit_cost=10)
    prefix = f"staff:{world.a_owner.subject_id}|"
    # when the first spends 6 units and has synced
    for _ in range(3):
        assert (await ask(first, world.a_owner.headers))[0] == 200
    await counted(db, prefix, 6)
    # then the second starts from its own count (no round trip before deciding) ...
    _, headers, _ = await ask(second, world.a_owner.headers)
    assert headers["X-RateLimit-Remaining"] == "8"
    # ... and after its sync it knows all 8 units: one more fits, the next is refused
    await counted(db, prefix, 8)
    await asyncio.sleep(3 * SYNC_MS / 1000)
    status, headers, _ = await ask(second, world.a_owner.headers)
    assert (status, headers["X-RateLimit-Remaining"]) == (200, "0")
    status, _, body = await ask(second, world.a_owner.headers)
    assert status == 429 and error_codes(body) == ["RATE_LIMITED"]
    # and the first instance, once synced, refuses too
    await counted(db, prefix, 12)
    await asyncio.sleep(3 * SYNC_MS / 1000)
    assert (await ask(first, world.a_owner.headers))[0] == 429


@pytest.fixture
async def limited_gateway(mongo_uri: str, db_name: str, tmp_path: Path) -> AsyncIterator[str]:
    """`gateway serve` in its own process on the tests' database: 20 units, 100 ms sync."""
    settings = {
        "GATEWAY_RATE_LIMIT": "true",
        "GATEWAY_RATE_LIMIT_WINDOW_SECONDS": str(DAY),
        "GATEWAY_RATE_LIMIT_COST": "20",
        "GATEWAY_RATE_LIMIT_SYNC_MS": str(SYNC_MS),
    }
    async with gateway_process(mongo_uri, db_name, tmp_path / "second", settings) as url:
        yield url


async def test_two_processes_share_a_budget_within_one_sync_interval(
    make_client: MakeClient, world: World, db: Database, limited_gateway: str
) -> None:
    # given this process and a second `gateway serve` process, 20 units per window each way
    local = await make_client(**LIMITED, rate_limit_cost=20)
    prefix = f"staff:{world.a_owner.subject_id}|"
    async with aiohttp.ClientSession() as session:

        async def remote() -> int:
            async with session.post(
                f"{limited_gateway}/graphql", json={"query": VIEWER}, headers=world.a_owner.headers
            ) as response:
                await response.read()
                return response.status

        # when the remote process spends 10 units and has synced
        assert [await remote() for _ in range(5)] == [200] * 5
        await counted(db, prefix, 10)
        # and this process spends 2 and syncs (it now knows all 12)
        assert (await ask(local, world.a_owner.headers))[0] == 200
        await counted(db, prefix, 12)
        await asyncio.sleep(3 * SYNC_MS / 1000)
        # then this process admits exactly the 8 units left, then refuses
        statuses = [(await ask(local, world.a_owner.headers))[0] for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        # and the remote process, one sync later, refuses at once
        await counted(db, prefix, 22)
        await asyncio.sleep(3 * SYNC_MS / 1000)
        assert await remote() == 429
        # and a burst sent to both at once stays within the bound (everything was refused:
        # nobody had units left, so nothing more may pass)
        remote_burst = asyncio.gather(*(remote() for _ in range(5)))
        local_burst = asyncio.gather(*(ask(local, world.a_owner.headers) for _ in range(5)))
        remote_statuses, local_answers = await asyncio.gather(remote_burst, local_burst)
        assert remote_statuses == [429] * 5
        assert [status for status, _, _ in local_answers] == [429] * 5


# --- activation tokens ---------------------------------------------------------------------


async def test_stats_read_with_a_token_is_charged_to_the_token_not_the_address(
    make_client: MakeClient, world: World, db: Database
) -> None:
    # given a tiny budget per address and the normal one per credential
    client = await make_client(**LIMITED, rate_limit_anonymous_cost=5, rate_limit_cost=100)
    doc, token = await given_activation(db, world.partner_a)
    other, other_token = await given_activation(db, world.partner_a, event_key="other-2026")
    variables = {"id": doc["_id"], "token": token}
    # when one address reads the stats with the token ten times (30 units, the address has 5)
    for i in range(10):
        status, headers, body = await ask(client, {}, STATS, variables=variables)
        # then every read passes and counts down the token's own budget
        assert status == 200, body
        assert headers["X-RateLimit-Limit"] == "100"
        assert headers["X-RateLimit-Remaining"] == str(100 - 3 * (i + 1))
    # and another token has a budget of its own
    other_variables = {"id": other["_id"], "token": other_token}
    _, headers, _ = await ask(client, {}, STATS, variables=other_variables)
    assert headers["X-RateLimit-Remaining"] == "97"
    # and the address's budget is untouched
    _, headers, _ = await ask(client, {})
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("5", "3")
    # and the store holds the token's digest, never the token
    await counted(db, "activation-token:", 33)
    ids = [r["_id"] for r in await db.rate_limits.find({}, {"_id": 1}).to_list(None)]
    assert not [i for i in ids if token in i or other_token in i]


async def test_an_operation_with_other_fields_besides_the_token_read_is_charged_to_the_address(
    make_client: MakeClient, world: World, db: Database
) -> None:
    client = await make_client(**LIMITED, rate_limit_anonymous_cost=10, rate_limit_cost=100)
    doc, token = await given_activation(db, world.partner_a)
    variables = {"id": doc["_id"], "token": token}
    status, headers, _ = await ask(client, {}, STATS_AND_VIEWER, variables=variables)
    assert (status, headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == (
        200,
        "10",
        "5",
    )
