"""Seed 002 fields added late: a ticket's `metro_area` and `account_id` (`partnerId`), a fan's
`last_page_tab_id` (`lastCampaignId`, the campaign id of its latest activity)."""

from __future__ import annotations

from typing import Any

from gateway.storage.mongo import Database
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan, ticket_input
from tests.test_crm_activities import given_campaign

CREATE_TICKET = """
mutation($input: CreateTicketInput!, $partnerId: ID) {
  createTicket(input: $input, partnerId: $partnerId) {
    status ticket { id partnerId metroArea city }
  }
}"""
TICKETS = """
query($first: Int) {
  tickets(first: $first) { edges { node { id partnerId metroArea } } }
}"""
TICKET = "query($id: ID!) { ticket(id: $id) { id partnerId metroArea } }"
SUBMIT = """
mutation($input: CreateFanActivityInput!) {
  createFanActivity(input: $input) { campaignId fan { id lastCampaignId lastCampaignTitle } }
}"""
FAN = "query($id: ID!) { fan(id: $id) { lastCampaignId lastCampaignTitle } }"
FANS = """
query($first: Int) { fans(first: $first) { edges { node { id lastCampaignId } } } }"""


# --- Ticket.metroArea / Ticket.partnerId -------------------------------------------------


async def test_create_ticket_rejects_a_bad_metro_area_and_stores_nothing(
    gql: GraphQL, world: World, db: Database
) -> None:
    for metro in ("m" * 65, "Vienna\x00Metro"):
        body = await gql(CREATE_TICKET, {"input": ticket_input(metroArea=metro)},
                         as_=world.a_owner)  # fmt: skip
        assert only_error(body)["extensions"]["field"] == "metroArea"
        assert only_error(body)["extensions"]["code"] == "BAD_USER_INPUT"
    assert await db.tickets.count_documents({}) == 0
    assert await db.fans.count_documents({}) == 0


async def test_tickets_carry_partner_and_metro_area_per_tenant(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given interleaved tickets of two partners, some with a metro area
    made: dict[str, list[dict[str, Any]]] = {world.partner_a: [], world.partner_b: []}
    for i in range(6):
        partner, owner = ((world.partner_a, world.a_owner) if i % 2 == 0
                          else (world.partner_b, world.b_owner))  # fmt: skip
        metro = f" Metro {i} " if i < 4 else None
        body = await gql(CREATE_TICKET, {"input": ticket_input(
            email=f"buyer{i}@example.com", ticketKey=f"k{i}", metroArea=metro)}, as_=owner)
        ticket = body["data"]["createTicket"]["ticket"]
        assert body["data"]["createTicket"]["status"] == "SUCCESS"
        assert ticket["partnerId"] == partner
        assert ticket["metroArea"] == (f"Metro {i}" if metro else None)
        made[partner].append(ticket)
    # then each partner lists its own tickets with both fields, and reads one by id
    for partner, who in ((world.partner_a, world.a_analyst), (world.partner_b, world.b_owner)):
        body = await gql(TICKETS, {"first": 10}, as_=who)
        listed = [e["node"] for e in body["data"]["tickets"]["edges"]]
        assert listed == [{k: t[k] for k in ("id", "partnerId", "metroArea")}
                          for t in made[partner]]  # fmt: skip
    one = made[world.partner_b][0]
    body = await gql(TICKET, {"id": one["id"]}, as_=world.b_owner)
    assert body["data"]["ticket"] == {"id": one["id"], "partnerId": world.partner_b,
                                      "metroArea": "Metro 1"}  # fmt: skip
    body = await gql(TICKET, {"id": one["id"]}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    # a ticket stored before the field existed reads as null
    await db.tickets.update_one({"_id": one["id"]}, {"$unset": {"metro_area": ""}})
    body = await gql(TICKET, {"id": one["id"]}, as_=world.b_owner)
    assert body["data"]["ticket"]["metroArea"] is None


async def test_ticket_list_fields_cost_the_same_commands_for_any_page(
    gql: GraphQL, world: World, commands: CommandCounter
) -> None:
    for i in range(12):
        await gql(CREATE_TICKET, {"input": ticket_input(
            email=f"b{i}@example.com", ticketKey=f"n{i}", metroArea="M")}, as_=world.a_owner)
    counts = []
    for first in (2, 12):
        commands.start()
        body = await gql(TICKETS, {"first": first}, as_=world.a_owner)
        assert len(body["data"]["tickets"]["edges"]) == first
        counts.append(commands.total)
    assert counts[0] == counts[1]


# --- Fan.lastCampaignId ---------------------------------------------------------------


async def test_last_campaign_id_follows_the_latest_activity_per_tenant(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a contest of each partner and a fan of each
    await given_campaign(db, world.partner_a, "tab-quiz", "Quiz")
    await given_campaign(db, world.partner_b, "tab-poll", "Poll")
    fan_a = await given_fan(db, world.partner_a)
    fan_b = await given_fan(db, world.partner_b)
    body = await gql(FAN, {"id": fan_a["_id"]}, as_=world.a_owner)
    assert body["data"]["fan"] == {"lastCampaignId": None, "lastCampaignTitle": None}
    # a rejected activity (another partner's contest) changes nothing
    body = await gql(SUBMIT, {"input": {"fanId": fan_a["_id"], "campaignId": "tab-poll"}},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    stored = await db.fans.find_one({"_id": fan_a["_id"]})
    assert stored is not None and "last_campaign_id" not in stored
    # when each fan takes part in its partner's contest
    for fan, key, who in ((fan_a, "tab-quiz", world.a_owner), (fan_b, "tab-poll", world.b_owner)):
        body = await gql(SUBMIT, {"input": {"fanId": fan["_id"], "campaignId": key}}, as_=who)
        assert body["data"]["createFanActivity"]["fan"]["lastCampaignId"] == key
    # then each fan carries its own contest, stored as a plain string
    body = await gql(FAN, {"id": fan_b["_id"]}, as_=world.b_owner)
    assert body["data"]["fan"] == {"lastCampaignId": "tab-poll", "lastCampaignTitle": "Poll"}
    stored = await db.fans.find_one({"_id": fan_a["_id"]})
    assert stored is not None and stored["last_campaign_id"] == "tab-quiz"
    # and a later activity outside any contest clears it (the latest activity wins)
    body = await gql(SUBMIT, {"input": {"fanId": fan_a["_id"], "campaignTitle": "Walk-in"}},
                     as_=world.a_owner)  # fmt: skip
    assert body["data"]["createFanActivity"]["fan"] == {
        "id": fan_a["_id"], "lastCampaignId": None, "lastCampaignTitle": "Walk-in"}
    body = await gql(FAN, {"id": fan_b["_id"]}, as_=world.b_owner)
    assert body["data"]["fan"]["lastCampaignId"] == "tab-poll"


async def test_fan_list_last_campaign_id_costs_the_same_commands_for_any_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    await given_campaign(db, world.partner_a)
    for _ in range(12):
        fan = await given_fan(db, world.partner_a)
        await gql(SUBMIT, {"input": {"fanId": fan["_id"], "campaignId": "tab-quiz"}},
                  as_=world.a_owner)  # fmt: skip
    counts = []
    for first in (2, 12):
        commands.start()
        body = await gql(FANS, {"first": first}, as_=world.a_owner)
        nodes = [e["node"] for e in body["data"]["fans"]["edges"]]
        assert len(nodes) == first and {n["lastCampaignId"] for n in nodes} == {"tab-quiz"}
        counts.append(commands.total)
    assert counts[0] == counts[1]
