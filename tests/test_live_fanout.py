"""Live fan-out: one execution and one encoded payload per event for every subscriber of a
share key, and backpressure that measures each client's own socket (gateway.live.fanout)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pymongo import AsyncMongoClient, monitoring

from gateway.app import TALLY, create_app
from gateway.auth.principal import Principal, PrincipalKind
from gateway.core.metrics import Metrics
from gateway.http.keys import SERVICES
from gateway.live.fanout import share_key, visibility
from gateway.live.hub import ChangeHub, Listener
from gateway.storage.mongo import Database, database
from loaders import crm as crm_data
from tests.conftest import GraphQL, World, error_codes, make_settings
from tests.crm_fixtures import given_fan, given_tickets, ticket_draft
from tests.live import LiveClient, StalledClient, active_subscriptions, until_subscribed
from tests.test_subscriptions import auth
from tests.test_subscriptions_engine import BIG_PROPS, HEAVY_FAN_ACTIVITY, given_member_doc

TICKET_FAN = "subscription { ticketSold { id fan { id } } }"
MEMBER_IDS = "subscription { memberJoined { id } }"
ACTIVITY_IDS = "subscription { fanActivity { id } }"
CREATE_TICKETS = """
mutation Import($tickets: [CreateTicketInput!]!) {
  createTickets(tickets: $tickets) { status error { message field } }
}
"""


def gauge(app: web.Application, name: str, **labels: str) -> float:
    value = app[SERVICES].metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def fan_reads(app: web.Application) -> int:
    """`find`s on `fans` sent on behalf of requests and subscriptions (not the watchers)."""
    return app[TALLY].request_snapshot()[("find", "fans")]


async def until(condition: Callable[[], bool], within: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition never held")
        await asyncio.sleep(0.02)


async def read_ids(live: LiveClient, op_id: str, field: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        ids.append(str((await live.next_data(op_id, within=30))[field]["id"]))
    return ids


# --- share keys ------------------------------------------------------------------------


def test_the_share_key_separates_everything_a_permission_or_tenant_filter_reads() -> None:
    staff = Principal(PrincipalKind.STAFF, "stf_1", "par_a", frozenset({"crm:read"}))
    same_scopes_other_user = Principal(PrincipalKind.STAFF, "stf_2", "par_a", staff.scopes)
    other_partner = Principal(PrincipalKind.STAFF, "stf_1", "par_b", staff.scopes)
    other_scopes = Principal(PrincipalKind.STAFF, "stf_1", "par_a", frozenset({"crm:read", "x"}))
    member_1 = Principal(PrincipalKind.MEMBER, "mem_1", "par_a", app_client_id="app_1")
    member_2 = Principal(PrincipalKind.MEMBER, "mem_2", "par_a", app_client_id="app_1")
    # Staff of one partner with the same scopes see the same data: they share.
    assert visibility(staff) == visibility(same_scopes_other_user)
    for different in (other_partner, other_scopes):
        assert visibility(staff) != visibility(different)
    assert visibility(member_1) != visibility(member_2)
    # Variables are compared by value, not by the order the client wrote them in.
    assert share_key("q", None, {"a": 1, "b": 2}, staff) == share_key(
        "q", "", {"b": 2, "a": 1}, staff
    )
    assert share_key("q", None, {"a": 1}, staff) != share_key("q", None, {"a": 2}, staff)
    assert share_key("q", None, None, staff) != share_key("q ", None, None, staff)


# --- one execution per event -----------------------------------------------------------


async def test_fifty_sockets_on_one_key_cost_one_execution_per_event(
    client: TestClient[Any, Any], app: web.Application, world: World, db: Database
) -> None:
    fan = await given_fan(db, world.partner_a, email="shared@example.com")
    first = await LiveClient.connect(client, payload=auth(world.a_owner))
    await first.subscribe("1", TICKET_FAN)
    await until_subscribed(app, 1)

    # One subscriber: what one event costs.
    before = fan_reads(app)
    [ticket] = await given_tickets(
        db, world.partner_a, [ticket_draft(fan["email"], fan["created_at"])]
    )
    assert (await first.next_data("1"))["ticketSold"] == {
        "id": ticket["_id"],
        "fan": {"id": fan["_id"]},
    }
    one_subscriber = fan_reads(app) - before
    assert one_subscriber == 1

    others = [await LiveClient.connect(client, payload=auth(world.a_owner)) for _ in range(49)]
    for live in others:
        await live.subscribe("1", TICKET_FAN)
    await until_subscribed(app, 50)
    assert gauge(app, "gateway_live_groups") == 1
    assert gauge(app, "gateway_change_stream_listeners", collection="tickets") == 1

    before = fan_reads(app)
    [ticket] = await given_tickets(
        db, world.partner_a, [ticket_draft(fan["email"], fan["created_at"])]
    )
    raws = []
    for live in [first, *others]:
        raw = await live.ws.receive(timeout=10)
        raws.append(raw.data)
    # The same bytes on every socket, resolved once: as many reads as for one subscriber.
    assert len(set(raws)) == 1
    assert f'"id":"{ticket["_id"]}"' in raws[0]
    assert fan_reads(app) - before == one_subscriber
    for live in [first, *others]:
        await live.close()


async def test_two_partners_or_two_roles_never_share_an_execution(
    client: TestClient[Any, Any], app: web.Application, world: World, db: Database
) -> None:
    owner_a = await LiveClient.connect(client, payload=auth(world.a_owner))
    owner_a_again = await LiveClient.connect(client, payload=auth(world.a_owner))
    analyst_a = await LiveClient.connect(client, payload=auth(world.a_analyst))
    owner_b = await LiveClient.connect(client, payload=auth(world.b_owner))
    for live in (owner_a, owner_a_again, analyst_a, owner_b):
        await live.subscribe("1", MEMBER_IDS)
    await until_subscribed(app, 4)
    # A's owners share; A's analyst (other scopes) and B's owner (other tenant) do not.
    assert gauge(app, "gateway_live_groups") == 3

    doc_a = await given_member_doc(db, world.partner_a, "fanout-a@example.com")
    for live in (owner_a, owner_a_again, analyst_a):
        assert (await live.next_data("1"))["memberJoined"]["id"] == doc_a["_id"]
    await owner_b.silent_for(0.5)
    doc_b = await given_member_doc(db, world.partner_b, "fanout-b@example.com")
    assert (await owner_b.next_data("1"))["memberJoined"]["id"] == doc_b["_id"]
    for live in (owner_a, owner_a_again, analyst_a):
        await live.silent_for(0.3)


async def test_the_group_outlives_the_subscriber_that_started_it(
    client: TestClient[Any, Any], app: web.Application, world: World, db: Database
) -> None:
    leader = await LiveClient.connect(client, payload=auth(world.a_owner))
    await leader.subscribe("1", MEMBER_IDS)
    await until_subscribed(app, 1)
    follower = await LiveClient.connect(client, payload=auth(world.a_owner))
    await follower.subscribe("7", MEMBER_IDS)
    await until_subscribed(app, 2)
    await leader.close()
    await until(lambda: active_subscriptions(app) == 1)

    doc = await given_member_doc(db, world.partner_a, "after-leader@example.com")
    assert (await follower.next_data("7"))["memberJoined"]["id"] == doc["_id"]
    # Completing the last subscription stops the shared execution and its listener.
    await follower.ws.send_json({"id": "7", "type": "complete"})
    await until(lambda: not gauge(app, "gateway_live_groups") and not active_subscriptions(app))
    await follower.silent_for(0.3)


# --- backpressure is the client's --------------------------------------------------------


async def test_a_burst_of_a_thousand_events_reaches_every_healthy_reader(
    aiohttp_client: Any, mongo_uri: str, db_name: str, tmp_path: Path, world: World, db: Database
) -> None:
    # A queue far smaller than the burst: only a socket that does not drain may be cut.
    settings = make_settings(mongo_uri, db_name, tmp_path, subscription_queue_size=16)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    app = client.server.app
    readers = [await LiveClient.connect(client, payload=auth(world.a_owner)) for _ in range(3)]
    for live in readers:
        await live.subscribe("1", ACTIVITY_IDS)
    await until_subscribed(app, 3)
    fan = await given_fan(db, world.partner_a)

    reading = [asyncio.create_task(read_ids(live, "1", "fanActivity", 1000)) for live in readers]
    inserted = []
    for _ in range(1000):
        inserted.append(
            (await crm_data.insert_activity(db, world.partner_a, fan["_id"], "Burst", {}))["_id"]
        )
    for ids in await asyncio.gather(*reading):
        assert ids == inserted


async def test_a_healthy_ticket_reader_survives_a_300_ticket_import(
    client: TestClient[Any, Any], app: web.Application, world: World, gql: GraphQL
) -> None:
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.subscribe("1", TICKET_FAN)
    await until_subscribed(app, 1)
    reading = asyncio.create_task(read_ids(live, "1", "ticketSold", 300))
    for batch in range(3):
        tickets = [
            {"firstName": "Imp", "lastName": "Orter", "email": f"imp-{batch}-{i}@example.com",
             "purchasedAt": "2026-05-01T10:00:00Z", "paidAmount": 1000, "currency": "EUR",
             "numSeats": 1, "eventDate": "2026-06-01", "eventName": "Import",
             "eventKey": "import", "ticketKey": f"imp-{batch}-{i}"}
            for i in range(100)
        ]  # fmt: skip
        body = await gql(CREATE_TICKETS, {"tickets": tickets}, as_=world.a_owner)
        assert "errors" not in body, body
        assert {r["status"] for r in body["data"]["createTickets"]} == {"SUCCESS"}, body["data"][
            "createTickets"
        ][0]
    ids = await reading
    assert len(set(ids)) == 300


async def test_a_reader_that_stops_reading_is_cut_while_its_group_keeps_receiving(
    aiohttp_client: Any, mongo_uri: str, db_name: str, tmp_path: Path, world: World, db: Database
) -> None:
    capacity = 8
    settings = make_settings(mongo_uri, db_name, tmp_path, subscription_queue_size=capacity)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    app = client.server.app
    assert client.host and client.port
    # The same operation, id and credential: all three sockets are one group.
    stalled = await StalledClient.connect(client.host, client.port, auth(world.a_owner))
    stalled.send({"id": "1", "type": "subscribe", "payload": {"query": HEAVY_FAN_ACTIVITY}})
    readers = [await LiveClient.connect(client, payload=auth(world.a_owner)) for _ in range(2)]
    for live in readers:
        await live.subscribe("1", HEAVY_FAN_ACTIVITY)
    await until_subscribed(app, 3)
    assert gauge(app, "gateway_live_groups") == 1

    fan = await given_fan(db, world.partner_a)
    ids = []
    for _ in range(40):
        doc = await crm_data.insert_activity(db, world.partner_a, fan["_id"], "Big", BIG_PROPS)
        ids.append(doc["_id"])
        for live in readers:
            assert (await live.next_data("1", within=10))["fanActivity"]["id"] == doc["_id"]
    assert active_subscriptions(app) == 2  # the stalled one was detached, its group goes on

    received = []
    while True:
        message = await stalled.read(within=30)
        if "errors" in message["payload"]:
            break
        received.append(message["payload"]["data"]["fanActivity"]["id"])
    assert error_codes(message["payload"]) == ["RATE_LIMITED"], message
    assert message["payload"]["errors"][0]["extensions"]["reason"] == "SLOW_SUBSCRIBER"
    assert (await stalled.read())["type"] == "complete"
    assert received == ids[: len(received)] and len(received) < len(ids)
    stalled.close()


async def test_sockets_dropped_without_a_close_frame_end_quietly_and_the_group_goes_on(
    client: TestClient[Any, Any], app: web.Application, world: World, db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # given twenty sockets of one group
    lives = [await LiveClient.connect(client, payload=auth(world.a_owner)) for _ in range(20)]
    for live in lives:
        await live.subscribe("1", MEMBER_IDS)
    await until_subscribed(app, 20)
    assert gauge(app, "gateway_live_groups") == 1
    # when half of them drop their TCP connection (no close frame) just before six events
    gone, kept = lives[::2], lives[1::2]
    for live in gone:
        live.ws.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
    docs = [await given_member_doc(db, world.partner_a, f"gone-{i}@example.com") for i in range(6)]
    # then every other socket gets them all, the dropped ones are ended, and nothing is logged
    # (asyncio warns from the fifth write to a lost connection)
    for live in kept:
        for doc in docs:
            assert (await live.next_data("1"))["memberJoined"]["id"] == doc["_id"]
    await until(lambda: active_subscriptions(app) == len(kept))
    assert gauge(app, "gateway_live_groups") == 1
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING], [
        r.getMessage() for r in caplog.records
    ]
    for live in lives:
        await live.close()


# --- the hub's pace on a store that answers idle getMores at once ------------------------


class GetMores(monitoring.CommandListener):
    """Counts the getMores sent on one collection."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "getMore" and event.command.get("collection") == self.collection:
            self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class Changes:
    def __init__(self) -> None:
        self.got: list[Mapping[str, Any]] = []

    def deliver(self, change: Mapping[str, Any]) -> None:
        self.got.append(change)


async def get_mores_during(probe: GetMores, seconds: float) -> int:
    before = probe.count
    await asyncio.sleep(seconds)
    return probe.count - before


@pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")), reason="MongoDB holds idle getMores: nothing to pace"
)
async def test_the_hub_polls_briskly_while_changes_flow_and_at_the_idle_pace_otherwise(
    mongo_uri: str, db_name: str
) -> None:
    probe = GetMores("pace_probe")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, event_listeners=[probe])
    hub = ChangeHub(database(client, db_name), Metrics())
    hub.idle_poll_seconds, hub.busy_poll_seconds, hub.busy_window_seconds = 0.5, 0.01, 1.5
    changes = Changes()
    try:
        async with hub.listening(Listener("pace_probe", "kind", "x", changes)):
            # given an idle watcher: about two getMores a second
            idle = await get_mores_during(probe, 1.0)
            # when a change arrives, the next second polls at the busy pace
            await client[db_name]["pace_probe"].insert_one({"kind": "x"})
            await until(lambda: bool(changes.got))
            busy = await get_mores_during(probe, 1.0)
            # then, past the busy window, back to the idle pace
            await asyncio.sleep(0.6)
            again = await get_mores_during(probe, 1.0)
    finally:
        await hub.close()
        await client.close()
    assert [c["fullDocument"]["kind"] for c in changes.got] == ["x"]
    assert idle <= 3, idle
    assert busy >= 10, busy  # ~90 at a 10 ms pace; 10 leaves room for a loaded machine
    assert again <= 3, again
