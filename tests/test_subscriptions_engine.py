"""The change-stream hub under stress: slow consumers, limits, store restarts, a second
gateway process on the same store, shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pymongo import AsyncMongoClient
from pymongo.errors import AutoReconnect

from gateway.app import create_app
from gateway.http.keys import SERVICES
from gateway.storage.mongo import Database, Document
from gateway.storage.store import _ping, free_loopback_port
from loaders import crm as crm_data
from loaders import members as member_data
from schema.extensions import STORE_UNAVAILABLE_MESSAGE
from tests.conftest import World, error_codes, make_settings
from tests.crm_fixtures import given_fan
from tests.live import LiveClient, StalledClient, until_subscribed
from tests.portal_fixtures import given_voucher, password_hash
from tests.processes import gateway_process
from tests.test_subscriptions import FAN_ACTIVITY, MEMBER_JOINED, auth

BIG_PROPS = {f"k{i:02d}": "x" * 2000 for i in range(20)}  # ~40 kB per `props` selection
HEAVY_FAN_ACTIVITY = (
    "subscription { fanActivity { id a: props { value } b: props { value } "
    "c: props { value } d: props { value } } }"
)


async def given_member_doc(db: Database, partner_id: str, email: str) -> Document:
    voucher = await given_voucher(db, partner_id, status="redeemed")
    doc = member_data.new_member(partner_id, "Live Member", email, password_hash(), voucher)
    await db.members.insert_one(doc)
    return doc


# --- slow consumers --------------------------------------------------------------------


async def test_a_stalled_client_is_cut_off_without_stalling_the_others(
    aiohttp_client: Any, mongo_uri: str, db_name: str, tmp_path: Path, world: World, db: Database
) -> None:
    capacity = 8
    settings = make_settings(mongo_uri, db_name, tmp_path, subscription_queue_size=capacity)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    app = client.server.app
    assert client.host and client.port
    stalled = await StalledClient.connect(client.host, client.port, auth(world.a_owner))
    stalled.send({"id": "s", "type": "subscribe", "payload": {"query": HEAVY_FAN_ACTIVITY}})
    fast = await LiveClient.connect(client, payload=auth(world.a_owner))
    await fast.subscribe("f", FAN_ACTIVITY)
    await until_subscribed(app, 2)

    fan = await given_fan(db, world.partner_a)
    events = 40
    ids = []
    for _ in range(events):
        doc = await crm_data.insert_activity(db, world.partner_a, fan["_id"], "Burst", BIG_PROPS)
        ids.append(doc["_id"])
        # The fast client reads as it goes: it must see every event, in order, promptly.
        assert (await fast.next_data("f", within=10))["fanActivity"]["id"] == doc["_id"]

    # The stalled subscriber was detached once `capacity` events waited for it; memory
    # held for it stays bounded. When it reads again it gets what was kept, then the error.
    await until_listeners(app, "fan_activities", 1)
    received: list[str] = []
    with pytest.raises(AssertionError, match="stream ended"):
        while True:
            message = await stalled.read(within=30)
            if message["type"] == "next" and "errors" in message["payload"]:
                assert error_codes(message["payload"]) == ["RATE_LIMITED"], message
                assert (await stalled.read())["type"] == "complete"
                raise AssertionError("stream ended")
            received.append(message["payload"]["data"]["fanActivity"]["id"])
    assert received == ids[: len(received)]
    assert len(received) < events
    stalled.close()


async def until_listeners(app: Any, collection: str, count: int, within: float = 10) -> None:
    registry = app[SERVICES].metrics.registry
    labels = {"collection": collection}
    deadline = time.monotonic() + within
    while registry.get_sample_value("gateway_change_stream_listeners", labels) != count:
        assert time.monotonic() < deadline, f"listeners on {collection} never became {count}"
        await asyncio.sleep(0.05)


# --- limits ------------------------------------------------------------------------------


async def test_subscriptions_per_connection_are_capped(
    aiohttp_client: Any, mongo_uri: str, db_name: str, tmp_path: Path, world: World
) -> None:
    settings = make_settings(mongo_uri, db_name, tmp_path, ws_max_subscriptions=2)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.subscribe("1", MEMBER_JOINED)
    await live.subscribe("2", MEMBER_JOINED)
    await live.subscribe("3", MEMBER_JOINED)
    message = await live.message()
    assert message["id"] == "3" and message["type"] == "error", message
    assert "limit" in message["payload"][0]["message"]


async def test_operation_limits_apply_to_subscriptions(
    client: TestClient[Any, Any], world: World
) -> None:
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    aliases = " ".join(f"a{i}: id" for i in range(40))
    await live.subscribe("1", f"subscription {{ memberJoined {{ {aliases} }} }}")
    message = await live.message()
    assert message["type"] == "error", message
    assert error_codes({"errors": message["payload"]}) == ["OPERATION_TOO_COMPLEX"], message


async def test_rate_limits_charge_subscriptions(
    aiohttp_client: Any, mongo_uri: str, db_name: str, tmp_path: Path, world: World
) -> None:
    settings = make_settings(mongo_uri, db_name, tmp_path, rate_limit=True, rate_limit_cost=1)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.subscribe("1", MEMBER_JOINED)
    message = await live.message()
    assert message["type"] == "error", message
    assert error_codes({"errors": message["payload"]}) == ["RATE_LIMITED"], message


# --- shutdown ----------------------------------------------------------------------------


async def test_shutdown_closes_sockets_with_going_away(
    client: TestClient[Any, Any], app: Any, world: World
) -> None:
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.subscribe("1", MEMBER_JOINED)
    await until_subscribed(app, 1)
    closing = asyncio.create_task(live.closed(within=10))
    await client.server.close()
    assert (await closing).code == 1001


# --- store restart -------------------------------------------------------------------------


@pytest.fixture
def restartable_store() -> Iterator[StoreProcess]:
    store = StoreProcess(Path(tempfile.mkdtemp(prefix="restart-store-")), free_loopback_port())
    store.start()
    try:
        yield store
    finally:
        store.stop()


class StoreProcess:
    """An embedded store on a fixed port and data dir, so it can be stopped and started."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nx_27017.nx_27017", "--data-dir", str(self.data_dir),
             "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not _ping(self.uri, 500):
            assert time.monotonic() < deadline, "store did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


async def reconnected(writer: AsyncMongoClient[Document]) -> None:
    """Wait until the test's own writer has dropped its pooled connections to the old store.

    The first command on a connection the restart closed fails (AutoReconnect) and is not
    retried on a server without retryable writes; that is the writer's problem, not the
    gateway's, so a ping absorbs it before the test writes.
    """
    deadline = time.monotonic() + 10
    while True:
        try:
            await writer.admin.command("ping")
            return
        except AutoReconnect:
            assert time.monotonic() < deadline, "the writer did not reconnect"
            await asyncio.sleep(0.1)


async def test_watchers_resume_after_a_store_restart_without_loss_or_duplicates(
    aiohttp_client: Any, restartable_store: StoreProcess, tmp_path: Path
) -> None:
    from gateway.auth.issue import keyring_from, staff_access_token
    from gateway.auth.scopes import Role
    from loaders import identity, partners

    settings = make_settings(restartable_store.uri, "restart", tmp_path, mongo_timeout_ms=1000)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    app = client.server.app
    db = app[SERVICES].db
    partner = await partners.insert_partner(db, "Restart Partner")
    staff = await identity.insert_staff(
        db, partner["_id"], "owner@example.com", "correct-horse-battery", Role.OWNER, "Owner"
    )
    session_id, _ = await identity.open_session(db, staff, 3600)
    token = staff_access_token(keyring_from(settings), settings, staff, session_id).token
    live = await LiveClient.connect(client, payload={"authorization": f"Bearer {token}"})
    await live.subscribe("m", MEMBER_JOINED)
    await until_subscribed(app, 1)

    writer: AsyncMongoClient[Document] = AsyncMongoClient(
        restartable_store.uri, serverSelectionTimeoutMS=10_000
    )
    try:
        wdb = writer["restart"]
        before = await given_member_doc(wdb, partner["_id"], "before@example.com")
        assert (await live.next_data("m"))["memberJoined"]["id"] == before["_id"]

        restartable_store.stop()
        # The store stays down until the outage has reached the hub: a watcher's getMore
        # failed. Which one depends on timing (the driver resumes a change stream once by
        # itself, and under load that resume can outlast a fixed pause and land after the
        # restart, so the outage would go unseen).
        registry = app[SERVICES].metrics.registry

        def stream_errors() -> float:
            return sum(
                registry.get_sample_value(
                    "gateway_change_stream_errors_total", {"collection": name}
                )
                or 0
                for name in ("members", "sessions")
            )

        deadline = asyncio.get_running_loop().time() + 30
        while not stream_errors():
            assert asyncio.get_running_loop().time() < deadline, "no watcher saw the outage"
            await asyncio.sleep(0.1)
        restartable_store.start()
        await reconnected(writer)
        after = [
            await given_member_doc(wdb, partner["_id"], f"after-{i}@example.com") for i in range(3)
        ]
        seen = [(await live.next_data("m", within=30))["memberJoined"]["id"] for _ in after]
        assert seen == [doc["_id"] for doc in after]
        await live.silent_for(1.0)  # nothing replayed
    finally:
        await writer.close()


async def test_a_watcher_that_cannot_open_in_time_is_a_coded_error_without_traceback(
    aiohttp_client: Any,
    restartable_store: StoreProcess,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from gateway.auth.issue import keyring_from, staff_access_token
    from gateway.auth.scopes import Role
    from loaders import identity, partners

    # given a staff socket, connected while the store answers
    settings = make_settings(restartable_store.uri, "stalled", tmp_path, mongo_timeout_ms=1000)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    db = client.server.app[SERVICES].db
    partner = await partners.insert_partner(db, "Stalled Partner")
    staff = await identity.insert_staff(
        db, partner["_id"], "owner@example.com", "correct-horse-battery", Role.OWNER, "Owner"
    )
    session_id, _ = await identity.open_session(db, staff, 3600)
    token = staff_access_token(keyring_from(settings), settings, staff, session_id).token
    live = await LiveClient.connect(client, payload={"authorization": f"Bearer {token}"})
    assert restartable_store.proc is not None
    pid = restartable_store.proc.pid
    # when the store stalls and the socket subscribes to a stream nobody watches yet
    os.kill(pid, signal.SIGSTOP)
    try:
        await live.subscribe("m", MEMBER_JOINED)
        message = await live.message(within=30)
    finally:
        os.kill(pid, signal.SIGCONT)
    # then it gets the coded outage error, and the log has one warning line, no traceback
    assert message["type"] == "next" and message["payload"]["data"] is None, message
    [error] = message["payload"]["errors"]
    assert error == {
        "message": STORE_UNAVAILABLE_MESSAGE,
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert await live.message() == {"id": "m", "type": "complete"}
    # and once the store answers again, the same socket subscribes and gets events
    await live.subscribe("m2", MEMBER_JOINED)
    await until_subscribed(client.server.app, 1)
    joined = await given_member_doc(db, partner["_id"], "after-stall@example.com")
    assert (await live.next_data("m2", within=30))["memberJoined"]["id"] == joined["_id"]


# --- two gateway processes -------------------------------------------------------------------


@pytest.fixture
async def second_gateway(mongo_uri: str, db_name: str, tmp_path: Path) -> AsyncIterator[str]:
    """`gateway serve` in its own process, on the first app's store and database."""
    async with gateway_process(mongo_uri, db_name, tmp_path / "second") as url:
        yield url


async def test_an_event_written_through_one_gateway_reaches_a_subscriber_on_another(
    client: TestClient[Any, Any], second_gateway: str, world: World
) -> None:
    register = """mutation R($input: RegisterMemberInput!) {
      registerMember(input: $input) { member { id } } }"""
    async with aiohttp.ClientSession() as session:
        remote = await LiveClient.connect(
            session, f"{second_gateway}/graphql", payload=auth(world.a_owner)
        )
        await remote.subscribe("m", MEMBER_JOINED)
        await wait_for_metric(session, second_gateway, "gateway_active_subscriptions 1.0")

        db = client.server.app[SERVICES].db
        voucher = await given_voucher(db, world.partner_a)
        variables = {"input": {
            "voucherCode": voucher["code"], "name": "Across", "email": "across@example.com",
            "password": "member-password-1",
        }}  # fmt: skip
        response = await client.post(
            "/graphql", json={"query": register, "variables": variables},
            headers=world.a_app.headers,
        )  # fmt: skip
        body = await response.json()
        member_id = body["data"]["registerMember"]["member"]["id"]
        event = await remote.next_data("m", within=15)
        assert event["memberJoined"]["id"] == member_id
        await remote.close()


async def wait_for_metric(session: aiohttp.ClientSession, url: str, line: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        async with session.get(f"{url}/metrics") as response:
            if line in (await response.text()).splitlines():
                return
        assert time.monotonic() < deadline, f"{line!r} never appeared"
        await asyncio.sleep(0.05)
