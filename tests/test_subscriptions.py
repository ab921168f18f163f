"""Live subscriptions over a real graphql-transport-ws WebSocket, fed by change streams."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.auth.issue import keyring_from
from gateway.auth.tokens import TokenKind
from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders.identity import open_session
from tests.conftest import GraphQL, Persona, World, error_codes
from tests.crm_fixtures import given_fan
from tests.live import Closed, LiveClient, until_subscribed
from tests.portal_fixtures import given_voucher

MEMBER_JOINED = "subscription { memberJoined { id name email } }"
VOUCHER_REDEEMED = "subscription { voucherRedeemed { id code status redeemedBy { id email } } }"
TICKET_SOLD = "subscription { ticketSold { id email eventName fan { id } } }"
FAN_ACTIVITY = "subscription { fanActivity { id campaignTitle fan { id firstName } } }"

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
UPDATE_FAN = (
    "mutation U($id: ID!, $input: UpdateFanInput!) { updateFan(id: $id, input: $input) { id } }"
)
LOGOUT = "mutation { logout }"
REVOKE_APP = "mutation Revoke($id: ID!) { revokeAppClient(id: $id) { id } }"


def auth(persona: Persona) -> dict[str, str]:
    """The connection_init payload for a persona's HTTP credentials."""
    payload = {}
    if "Authorization" in persona.headers:
        payload["authorization"] = persona.headers["Authorization"]
    if "X-API-Key" in persona.headers:
        payload["apiKey"] = persona.headers["X-API-Key"]
    return payload


def registration(code: str, email: str) -> dict[str, Any]:
    return {"input": {"voucherCode": code, "name": "New Member", "email": email,
                      "password": "member-password-1"}}  # fmt: skip


async def register(gql: GraphQL, db: Database, app_persona: Persona, email: str) -> str:
    assert app_persona.partner_id
    voucher = await given_voucher(db, app_persona.partner_id)
    body = await gql(REGISTER, registration(voucher["code"], email), as_=app_persona)
    assert "errors" not in body, body
    return str(body["data"]["registerMember"]["member"]["id"])


# --- protocol close codes --------------------------------------------------------------


async def test_subscribing_before_connection_init_closes_with_4401(
    client: TestClient[Any, Any],
) -> None:
    async with client.ws_connect("/graphql", protocols=["graphql-transport-ws"]) as ws:
        live = LiveClient(ws)
        await live.subscribe("1", MEMBER_JOINED)
        assert (await live.closed()).code == 4401


async def test_a_second_connection_init_closes_with_4429(
    client: TestClient[Any, Any], world: World
) -> None:
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.ws.send_json({"type": "connection_init", "payload": auth(world.a_owner)})
    assert (await live.closed()).code == 4429


async def test_reusing_a_live_operation_id_closes_with_4409(
    client: TestClient[Any, Any], world: World
) -> None:
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.subscribe("1", MEMBER_JOINED)
    await live.subscribe("1", MEMBER_JOINED)
    assert (await live.closed()).code == 4409


async def test_an_unknown_message_closes_with_4400(
    client: TestClient[Any, Any], world: World
) -> None:
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.ws.send_json({"type": "shout"})
    assert (await live.closed()).code == 4400


async def test_no_connection_init_in_time_closes_with_4408(
    aiohttp_client: Any, mongo_uri: str, db_name: str, tmp_path: Any
) -> None:
    from gateway.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(mongo_uri, db_name, tmp_path, ws_init_timeout_seconds=0.3)
    client = await aiohttp_client(create_app(settings))
    async with client.ws_connect("/graphql", protocols=["graphql-transport-ws"]) as ws:
        assert (await LiveClient(ws).closed()).code == 4408


# --- guards ----------------------------------------------------------------------------


@pytest.mark.parametrize("query", [MEMBER_JOINED, VOUCHER_REDEEMED, TICKET_SOLD, FAN_ACTIVITY])
async def test_event_streams_refuse_other_credential_kinds(
    client: TestClient[Any, Any], world: World, query: str
) -> None:
    for persona in (world.operator, world.a_app, world.a_member):
        live = await LiveClient.connect(client, payload=auth(persona))
        await live.subscribe("1", query)
        message = await live.message()
        assert message["type"] == "error", message
        assert error_codes({"errors": message["payload"]}) == ["FORBIDDEN"], message
        await live.close()


@pytest.mark.parametrize(
    ("query", "scope"),
    [
        (MEMBER_JOINED, "members:read"),
        (VOUCHER_REDEEMED, "vouchers:read"),
        (TICKET_SOLD, "crm:read"),
        (FAN_ACTIVITY, "crm:read"),
    ],
)
async def test_event_streams_need_their_read_scope(
    client: TestClient[Any, Any], world: World, settings: Settings, db: Database,
    query: str, scope: str,
) -> None:  # fmt: skip
    assert world.a_analyst.subject_id
    staff = {"_id": world.a_analyst.subject_id, "partner_id": world.partner_a, "role": "analyst"}
    session_id, _ = await open_session(db, staff, 3600)
    token = keyring_from(settings).issue(
        TokenKind.PARTNER, staff["_id"], 600,
        {"pid": world.partner_a, "role": "analyst", "sid": session_id,
         "scopes": ["partner:read", "activations:read"]},
    ).token  # fmt: skip
    live = await LiveClient.connect(client, payload={"authorization": f"Bearer {token}"})
    await live.subscribe("1", query)
    message = await live.message()
    assert message["type"] == "error", message
    assert error_codes({"errors": message["payload"]}) == ["FORBIDDEN"], message
    assert scope in message["payload"][0]["message"]


# --- event streams ---------------------------------------------------------------------


async def test_member_joined_reaches_only_the_members_partner(
    client: TestClient[Any, Any], app: web.Application, gql: GraphQL, db: Database,
    world: World,
) -> None:  # fmt: skip
    a_live = await LiveClient.connect(client, payload=auth(world.a_owner))
    b_live = await LiveClient.connect(client, payload=auth(world.b_owner))
    await a_live.subscribe("a", MEMBER_JOINED)
    await b_live.subscribe("b", MEMBER_JOINED)
    await until_subscribed(app, 2)

    a_member = await register(gql, db, world.a_app, "ann@example.com")
    assert (await a_live.next_data("a"))["memberJoined"] == {
        "id": a_member,
        "name": "New Member",
        "email": "ann@example.com",
    }
    await b_live.silent_for(0.5)

    b_member = await register(gql, db, world.b_app, "bob@example.com")
    assert (await b_live.next_data("b"))["memberJoined"]["id"] == b_member
    await a_live.silent_for(0.5)


async def test_voucher_redeemed_carries_the_member_and_skips_a_failed_registration(
    client: TestClient[Any, Any], app: web.Application, gql: GraphQL, db: Database,
    world: World,
) -> None:  # fmt: skip
    live = await LiveClient.connect(client, payload=auth(world.a_manager))
    await live.subscribe("v", VOUCHER_REDEEMED)
    await until_subscribed(app, 1)

    member_id = await register(gql, db, world.a_app, "vera@example.com")
    event = (await live.next_data("v"))["voucherRedeemed"]
    assert event["status"] == "REDEEMED"
    assert event["redeemedBy"] == {"id": member_id, "email": "vera@example.com"}

    # Email taken: the voucher claim is undone, so no redemption is announced.
    voucher = await given_voucher(db, world.partner_a)
    body = await gql(REGISTER, registration(voucher["code"], "vera@example.com"), as_=world.a_app)
    assert error_codes(body) == ["CONFLICT"], body
    await live.silent_for(0.5)


async def test_ticket_sold_reaches_the_partners_staff_only(
    client: TestClient[Any, Any], app: web.Application, gql: GraphQL, world: World
) -> None:
    a_live = await LiveClient.connect(client, payload=auth(world.a_analyst))
    b_live = await LiveClient.connect(client, payload=auth(world.b_owner))
    await a_live.subscribe("t", TICKET_SOLD)
    await b_live.subscribe("t", TICKET_SOLD)
    await until_subscribed(app, 2)

    ticket_input = {
        "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
        "purchasedAt": "2026-03-01T10:00:00+00:00", "paidAmount": 4500, "currency": "EUR",
        "numSeats": 1, "eventDate": "2026-06-01", "eventName": "Summer Show",
        "eventKey": "summer", "venueName": "Arena",
    }  # fmt: skip
    body = await gql(CREATE_TICKET, {"input": ticket_input}, as_=world.a_owner)
    ticket_id = body["data"]["createTicket"]["ticket"]["id"]
    event = (await a_live.next_data("t"))["ticketSold"]
    assert event["id"] == ticket_id and event["eventName"] == "Summer Show"
    assert event["fan"]["id"].startswith("fan_")
    await b_live.silent_for(0.5)


async def test_fan_activity_reads_nested_fields_fresh_for_every_event(
    client: TestClient[Any, Any], app: web.Application, gql: GraphQL, db: Database,
    world: World,
) -> None:  # fmt: skip
    fan = await given_fan(db, world.partner_a, first_name="Before")
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.subscribe("f", FAN_ACTIVITY)
    await until_subscribed(app, 1)

    activity = {"input": {"fanId": fan["_id"], "campaignTitle": "Spring"}}
    assert "errors" not in await gql(CREATE_ACTIVITY, activity, as_=world.a_owner)
    first = (await live.next_data("f"))["fanActivity"]
    assert first["fan"] == {"id": fan["_id"], "firstName": "Before"}

    renamed = await gql(UPDATE_FAN, {"id": fan["_id"], "input": {"firstName": "After"}},
                        as_=world.a_owner)  # fmt: skip
    assert "errors" not in renamed, renamed
    assert "errors" not in await gql(CREATE_ACTIVITY, activity, as_=world.a_owner)
    second = (await live.next_data("f"))["fanActivity"]
    assert second["fan"] == {"id": fan["_id"], "firstName": "After"}
    assert second["campaignTitle"] == "Spring"


# --- credentials ending ----------------------------------------------------------------


async def test_the_socket_closes_when_the_token_expires(
    client: TestClient[Any, Any], world: World, settings: Settings, db: Database
) -> None:
    assert world.a_owner.subject_id
    staff = {"_id": world.a_owner.subject_id, "partner_id": world.partner_a, "role": "owner"}
    session_id, _ = await open_session(db, staff, 3600)
    token = keyring_from(settings).issue(
        TokenKind.PARTNER, staff["_id"], 2,
        {"pid": world.partner_a, "role": "owner", "sid": session_id, "scopes": ["members:read"]},
    ).token  # fmt: skip
    live = await LiveClient.connect(client, payload={"authorization": f"Bearer {token}"})
    await live.subscribe("1", MEMBER_JOINED)
    closed = await live.closed(within=10)
    assert (closed.code, closed.reason) == (4403, "Token expired")


async def test_logout_closes_the_staff_socket(
    client: TestClient[Any, Any], app: web.Application, gql: GraphQL, world: World
) -> None:
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    other = await LiveClient.connect(client, payload=auth(world.a_manager))
    await live.subscribe("1", MEMBER_JOINED)
    await other.subscribe("1", MEMBER_JOINED)
    await until_subscribed(app, 2)
    assert (await gql(LOGOUT, as_=world.a_owner))["data"] == {"logout": True}
    closed = await live.closed(within=5)
    assert (closed.code, closed.reason) == (4403, "Credential revoked")
    await other.silent_for(0.5)  # another session of the partner stays open


async def test_revoking_an_app_key_closes_its_sockets(
    client: TestClient[Any, Any], gql: GraphQL, world: World
) -> None:
    app_live = await LiveClient.connect(client, payload=auth(world.a_app))
    member_live = await LiveClient.connect(client, payload=auth(world.a_member))
    b_live = await LiveClient.connect(client, payload=auth(world.b_app))
    body = await gql(REVOKE_APP, {"id": world.a_app.subject_id}, as_=world.operator)
    assert "errors" not in body, body
    for live in (app_live, member_live):
        closed = await live.closed(within=5)
        assert (closed.code, closed.reason) == (4403, "Credential revoked")
    await b_live.silent_for(0.5)


async def test_many_connections_share_one_watcher_per_collection(
    client: TestClient[Any, Any], app: web.Application, world: World
) -> None:
    clients = [await LiveClient.connect(client, payload=auth(world.a_owner)) for _ in range(3)]
    for live in clients:
        await live.subscribe("1", MEMBER_JOINED)
    await until_subscribed(app, 3)
    metrics = await (await client.get("/metrics")).text()
    assert 'gateway_change_stream_watchers{collection="members"} 1.0' in metrics
    assert "gateway_active_subscriptions 3.0" in metrics
    for live in clients:
        await live.close()
    await asyncio.sleep(0.2)
    metrics = await (await client.get("/metrics")).text()
    assert 'gateway_change_stream_watchers{collection="members"} 0.0' in metrics
    assert "gateway_active_subscriptions 0.0" in metrics


async def test_closed_sockets_raise_no_errors(client: TestClient[Any, Any], world: World) -> None:
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.subscribe("1", MEMBER_JOINED)
    await live.close()
    with pytest.raises(Closed):
        await live.message(within=1)
