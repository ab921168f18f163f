"""Racing `createTicket` requests: the ticket's unique key decides, and a duplicate writes
nothing (before, 30 racing requests with one ticket key left 29 fans behind DUPLICATE
answers)."""

from __future__ import annotations

import asyncio

from gateway.storage.mongo import Database
from loaders.base import utcnow
from tests.conftest import GraphQL, World, error_codes
from tests.crm_fixtures import ticket_input

CREATE_TICKET = """
mutation Create($input: CreateTicketInput!) {
  createTicket(input: $input) { status ticket { id ticketKey email fan { id email } } }
}"""
RACERS = 30


async def test_one_ticket_key_raced_by_30_new_buyers_makes_one_ticket_and_one_fan(
    gql: GraphQL, db: Database, world: World
) -> None:
    # when 30 requests with one ticket key and 30 new buyer emails run at once
    bodies = await asyncio.gather(*(
        gql(CREATE_TICKET, {"input": ticket_input(ticketKey="T-1", email=f"b{i}@example.com")},
            as_=world.a_owner)
        for i in range(RACERS)
    ))  # fmt: skip
    # then one succeeds, the others are told DUPLICATE with the stored ticket
    assert all("errors" not in b for b in bodies), bodies
    results = [b["data"]["createTicket"] for b in bodies]
    statuses = sorted(r["status"] for r in results)
    assert statuses == ["DUPLICATE"] * (RACERS - 1) + ["SUCCESS"]
    [winner] = [r["ticket"] for r in results if r["status"] == "SUCCESS"]
    assert all(r["ticket"]["id"] == winner["id"] for r in results)
    assert winner["fan"]["email"] == winner["email"]
    # and exactly one ticket and one fan (the winner's) are stored
    assert await db.tickets.count_documents({"partner_id": world.partner_a}) == 1
    fans = await db.fans.find({"partner_id": world.partner_a}).to_list(None)
    assert [f["_id"] for f in fans] == [winner["fan"]["id"]]


async def test_one_new_buyer_raced_with_30_ticket_keys_gets_one_fan(
    gql: GraphQL, db: Database, world: World
) -> None:
    # when 30 requests with distinct ticket keys and one new buyer email run at once
    bodies = await asyncio.gather(*(
        gql(CREATE_TICKET, {"input": ticket_input(ticketKey=f"K-{i}", email="same@example.com")},
            as_=world.a_owner)
        for i in range(RACERS)
    ))  # fmt: skip
    assert all("errors" not in b for b in bodies), bodies
    results = [b["data"]["createTicket"] for b in bodies]
    assert {r["status"] for r in results} == {"SUCCESS"}
    # then one fan exists and every ticket (as answered and as stored) belongs to it
    fans = await db.fans.find({"partner_id": world.partner_a}).to_list(None)
    assert len(fans) == 1
    assert {r["ticket"]["fan"]["id"] for r in results} == {fans[0]["_id"]}
    stored = await db.tickets.find({"partner_id": world.partner_a}).to_list(None)
    assert len(stored) == RACERS and {t["fan_id"] for t in stored} == {fans[0]["_id"]}


async def test_a_duplicate_in_a_later_request_writes_nothing(
    gql: GraphQL, db: Database, world: World
) -> None:
    first = await gql(CREATE_TICKET, {"input": ticket_input(ticketKey="T-9")}, as_=world.a_owner)
    assert first["data"]["createTicket"]["status"] == "SUCCESS"
    fans_before = await db.fans.count_documents({})
    duplicate = ticket_input(ticketKey="T-9", email="x@example.com")
    again = await gql(CREATE_TICKET, {"input": duplicate}, as_=world.a_owner)
    assert again["data"]["createTicket"]["status"] == "DUPLICATE"
    assert await db.fans.count_documents({}) == fans_before
    assert await db.tickets.count_documents({}) == 1


async def test_a_claim_left_by_a_dead_request_is_released_once_stale(
    gql: GraphQL, db: Database, world: World
) -> None:
    # given a claim on T-5 by a request that died 61 s ago before storing its ticket
    stale_ms = int(utcnow().timestamp() * 1000) - 61_000
    claim = {"_id": f"{world.partner_a}:T-5", "at_ms": stale_ms,
             "partner_id": world.partner_a, "ticket_key": "T-5"}  # fmt: skip
    await db.ticket_claims.insert_one(claim)
    # when a buyer sends T-5, it is told to retry (CONFLICT on ticketKey) and nothing is stored
    body = await gql(CREATE_TICKET, {"input": ticket_input(ticketKey="T-5")}, as_=world.a_owner)
    assert error_codes(body) == ["CONFLICT"], body
    assert await db.fans.count_documents({}) == 0
    # then the retry stores the ticket and its fan
    again = await gql(CREATE_TICKET, {"input": ticket_input(ticketKey="T-5")}, as_=world.a_owner)
    assert again["data"]["createTicket"]["status"] == "SUCCESS", again
    assert await db.fans.count_documents({}) == 1


async def test_a_retry_of_the_same_ticket_takes_over_its_own_lost_claim(
    gql: GraphQL, db: Database, world: World
) -> None:
    # given T-6 claimed by an attempt whose answer was lost (its claim stored, nothing else)
    first = await gql(CREATE_TICKET, {"input": ticket_input(ticketKey="T-6")}, as_=world.a_owner)
    assert first["data"]["createTicket"]["status"] == "SUCCESS", first
    claim = await db.ticket_claims.find_one({"_id": f"{world.partner_a}:T-6"})
    assert claim is not None
    await db.tickets.delete_many({"ticket_key": "T-6"})
    await db.fans.delete_many({})
    # when another buyer sends T-6, it must wait for that claim: CONFLICT, nothing stored
    someone_else = ticket_input(ticketKey="T-6", email="x@example.com")
    other = await gql(CREATE_TICKET, {"input": someone_else}, as_=world.a_owner)
    assert error_codes(other) == ["CONFLICT"], other
    assert await db.fans.count_documents({}) == 0
    # then the same ticket sent again is stored at once, with one fan
    again = await gql(CREATE_TICKET, {"input": ticket_input(ticketKey="T-6")}, as_=world.a_owner)
    assert again["data"]["createTicket"]["status"] == "SUCCESS", again
    assert await db.fans.count_documents({}) == 1
    assert await db.tickets.count_documents({"ticket_key": "T-6"}) == 1
