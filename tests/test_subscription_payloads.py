"""Every field of every event-stream payload arrives, dates included, equal to what a query
of the same object returns.

The embedded store delivers change-event documents with extended-JSON dates
(`{"$date": …}`); before the hub decoded them (`gateway.live.hub.decode_change`) every
`DateTime` field of a payload failed with INTERNAL_SERVER_ERROR and `redeemedBy` was null.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.live.hub import decode_change
from gateway.storage.mongo import Database
from tests.conftest import GraphQL, World
from tests.crm_fixtures import given_fan, ticket_input
from tests.live import LiveClient, until_subscribed
from tests.portal_fixtures import given_voucher
from tests.selections import root_type, selection
from tests.test_subscriptions import auth, registration

REGISTER = """
mutation Register($input: RegisterMemberInput!) {
  registerMember(input: $input) { member { id } }
}"""
CREATE_TICKET = """
mutation Create($input: CreateTicketInput!) { createTicket(input: $input) { status ticket { id } } }
"""
CREATE_ACTIVITY = """
mutation Act($input: CreateFanActivityInput!) { createFanActivity(input: $input) { id } }
"""
DEPTH = 3


def payload_type(root: str) -> str:
    return root_type(root, "subscription")


def subscription(root: str) -> str:
    return f"subscription {{ {root} {{ {selection(payload_type(root))} }} }}"


def query_of(root: str, type_name: str, arguments: str, depth: int = DEPTH) -> str:
    return f"query {{ {root}({arguments}) {{ {selection(type_name, depth)} }} }}"


def is_iso(value: Any) -> bool:
    return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None


# --- the decoder -----------------------------------------------------------------------


def test_decode_change_gives_datetimes_where_find_does() -> None:
    t = datetime(2026, 3, 15, 10, 0, 0, 123000, tzinfo=UTC)
    change = {
        "operationType": "insert",
        "fullDocument": {"_id": "x", "at": {"$date": "2026-03-15T10:00:00.123000"},
                         "n": {"at": {"$date": "2026-03-15T10:00:00.123Z"}, "k": 1},
                         "l": [{"$date": {"$numberLong": "1773568800123"}}, "s"],
                         "plain": {"a": 1}},
        "documentKey": {"_id": "x"},
    }  # fmt: skip
    decoded = decode_change(change)
    assert decoded["fullDocument"] == {"_id": "x", "at": t, "n": {"at": t, "k": 1},
                                       "l": [t, "s"], "plain": {"a": 1}}  # fmt: skip
    assert decoded["documentKey"] == {"_id": "x"}
    # already-decoded documents (MongoDB) come out unchanged
    assert decode_change(decoded) == decoded


def test_every_payload_selection_reaches_the_dates() -> None:
    assert "joinedAt" in subscription("memberJoined")
    assert "purchasedAt" in subscription("ticketSold")
    assert "createdAt" in subscription("fanActivity")
    assert "redeemedBy { " in subscription("voucherRedeemed")


# --- the streams -----------------------------------------------------------------------


@pytest.fixture
async def live(client: TestClient[Any, Any], world: World) -> LiveClient:
    return await LiveClient.connect(client, payload=auth(world.a_owner))


async def test_member_joined_delivers_every_field(
    app: web.Application, gql: GraphQL, db: Database, world: World, live: LiveClient
) -> None:
    await live.subscribe("m", subscription("memberJoined"))
    await until_subscribed(app, 1)
    voucher = await given_voucher(db, world.partner_a)
    body = await gql(REGISTER, registration(voucher["code"], "jo@example.com"), as_=world.a_app)
    assert "errors" not in body, body
    event = (await live.next_data("m"))["memberJoined"]
    assert is_iso(event["joinedAt"])
    read = await gql(query_of("member", "Member", f'id: "{event["id"]}"'), as_=world.a_owner)
    assert "errors" not in read, read
    assert event == read["data"]["member"]


async def test_voucher_redeemed_delivers_every_field_and_the_member(
    app: web.Application, gql: GraphQL, db: Database, world: World, live: LiveClient
) -> None:
    await live.subscribe("v", subscription("voucherRedeemed"))
    await until_subscribed(app, 1)
    voucher = await given_voucher(db, world.partner_a)
    body = await gql(REGISTER, registration(voucher["code"], "vi@example.com"), as_=world.a_app)
    assert "errors" not in body, body
    event = (await live.next_data("v"))["voucherRedeemed"]
    assert event["redeemedBy"] is not None and is_iso(event["redeemedBy"]["joinedAt"])
    assert is_iso(event["createdAt"]) and is_iso(event["redeemedAt"])
    listed = await gql(
        f'query {{ vouchers(search: "{voucher["code"]}") {{ edges {{ node {{ '
        f"{selection('Voucher')} }} }} }} }}",
        as_=world.a_owner,
    )
    assert "errors" not in listed, listed
    assert [event] == [e["node"] for e in listed["data"]["vouchers"]["edges"]]


async def test_ticket_sold_delivers_every_field(
    app: web.Application, gql: GraphQL, world: World, live: LiveClient
) -> None:
    await live.subscribe("t", subscription("ticketSold"))
    await until_subscribed(app, 1)
    body = await gql(CREATE_TICKET, {"input": ticket_input()}, as_=world.a_owner)
    assert "errors" not in body, body
    event = (await live.next_data("t"))["ticketSold"]
    assert is_iso(event["purchasedAt"]) and is_iso(event["createdAt"])
    assert event["fan"] is not None
    read = await gql(query_of("ticket", "Ticket", f'id: "{event["id"]}"'), as_=world.a_owner)
    assert "errors" not in read, read
    assert event == read["data"]["ticket"]


async def test_fan_activity_delivers_every_field(
    app: web.Application, gql: GraphQL, db: Database, world: World, live: LiveClient
) -> None:
    fan = await given_fan(db, world.partner_a, first_name="Fay")
    await live.subscribe("f", subscription("fanActivity"))
    await until_subscribed(app, 1)
    activity = {"fanId": fan["_id"], "campaignTitle": "Spring",
                "props": [{"key": "seat", "value": "A1"}]}  # fmt: skip
    body = await gql(CREATE_ACTIVITY, {"input": activity}, as_=world.a_owner)
    assert "errors" not in body, body
    event = (await live.next_data("f"))["fanActivity"]
    assert event["id"] == body["data"]["createFanActivity"]["id"]
    assert is_iso(event["createdAt"]) and event["props"] == [{"key": "seat", "value": "A1"}]
    read = await gql(query_of("fan", "Fan", f'id: "{fan["_id"]}"', DEPTH - 1), as_=world.a_owner)
    assert "errors" not in read, read
    assert event["fan"] == read["data"]["fan"]
