"""Tickets: create (single, batch), duplicates (stored, in-batch, racing), lists, stats."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.storage.mongo import Database
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import at, given_fan, given_tickets, ticket_draft, ticket_input

CREATE_TICKET = """
mutation($input: CreateTicketInput!, $partnerId: ID) {
  createTicket(input: $input, partnerId: $partnerId) {
    status error { field }
    ticket { id sequence ticketKey paidAmount { amount currency } fan { id email firstName } }
  }
}"""
CREATE_TICKETS = """
mutation($tickets: [CreateTicketInput!]!, $partnerId: ID) {
  createTickets(tickets: $tickets, partnerId: $partnerId) {
    index status error { message field } ticket { id ticketKey fan { id } }
  }
}"""
TICKETS = """
query($filter: TicketFilter, $first: Int, $after: String) {
  tickets(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id sequence email isDeleted fan { id email } } }
  }
}"""
TICKET = "query($id: ID!) { ticket(id: $id) { id eventName fan { id } } }"
STATS = """
query($lo: Date!, $hi: Date!, $eventName: String, $specific: Boolean! = false) {
  ticketStats(minPurchaseDate: $lo, maxPurchaseDate: $hi, eventName: $eventName,
              eventSpecific: $specific) {
    newFansCount returningFansCount salesCount seatsCount revenue { amount currency }
  }
}"""


def results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["data"]["createTickets"]  # type: ignore[no-any-return]


async def nothing_written(db: Database) -> bool:
    return (
        await db.tickets.count_documents({}) == 0
        and await db.fans.count_documents({}) == 0
        and await db.crm_counters.count_documents({}) == 0
    )


# --- createTicket ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"firstName": " "}, "firstName"),
        ({"lastName": ""}, "lastName"),
        ({"paidAmount": -1}, "paidAmount"),
        ({"numSeats": 0}, "numSeats"),
        ({"currency": "EURO"}, "currency"),
        ({"eventName": ""}, "eventName"),
        ({"phone": "abc"}, "phone"),
        ({"countryCode": "DEU"}, "countryCode"),
    ],
)
async def test_create_ticket_rejects_bad_input(
    gql: GraphQL, world: World, db: Database, overrides: dict[str, Any], field: str
) -> None:
    body = await gql(CREATE_TICKET, {"input": ticket_input(**overrides)}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await nothing_written(db)


@pytest.mark.parametrize(
    ("persona", "code"),
    [("a_analyst", "FORBIDDEN"), ("a_app", "FORBIDDEN"), ("b_member", "FORBIDDEN"),
     ("anonymous", "UNAUTHENTICATED")],
)  # fmt: skip
async def test_create_ticket_refuses_callers(
    gql: GraphQL, world: World, db: Database, persona: str, code: str
) -> None:
    body = await gql(CREATE_TICKET, {"input": ticket_input()}, as_=getattr(world, persona))
    assert error_codes(body) == [code]
    assert await nothing_written(db)


async def test_create_ticket_tenancy(gql: GraphQL, world: World, db: Database) -> None:
    body = await gql(CREATE_TICKET, {"input": ticket_input(), "partnerId": world.partner_b},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(CREATE_TICKET, {"input": ticket_input()}, as_=world.operator)
    assert only_error(body)["extensions"]["field"] == "partnerId"
    assert await nothing_written(db)
    body = await gql(CREATE_TICKET, {"input": ticket_input(), "partnerId": world.partner_b},
                     as_=world.operator)  # fmt: skip
    assert body["data"]["createTicket"]["status"] == "SUCCESS"
    assert await db.tickets.count_documents({"partner_id": world.partner_b}) == 1


async def test_create_ticket_matches_or_creates_the_fan(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given an existing fan with the buyer's email
    fan = await given_fan(db, world.partner_a, email="ada@example.com", first_name="Ada")
    # when a ticket for that email (different case) and one for a new buyer are created
    first = await gql(CREATE_TICKET, {"input": ticket_input(email="ADA@example.com")},
                      as_=world.a_owner)  # fmt: skip
    second = await gql(
        CREATE_TICKET,
        {"input": ticket_input(email="new@example.com", firstName="Neo", ticketKey="k-2",
                               purchasedAt="2026-02-01T10:00:00+00:00")},
        as_=world.a_owner,
    )  # fmt: skip
    # then the first is the existing fan's and the second created a fan
    t1 = first["data"]["createTicket"]
    t2 = second["data"]["createTicket"]
    assert t1["status"] == t2["status"] == "SUCCESS"
    assert t1["ticket"]["fan"]["id"] == fan["_id"]
    assert t1["ticket"]["paidAmount"] == {"amount": 4500, "currency": "EUR"}
    assert t2["ticket"]["fan"]["firstName"] == "Neo"
    assert t2["ticket"]["sequence"] > t1["ticket"]["sequence"]
    assert await db.fans.count_documents({"partner_id": world.partner_a}) == 2
    stored = await db.fans.find_one({"_id": fan["_id"]})
    assert stored is not None
    assert stored["first_purchase_ms"] == int(at("2026-03-01", 10).timestamp() * 1000)


async def test_repeated_ticket_key_is_duplicate_and_stores_nothing(
    gql: GraphQL, world: World, db: Database
) -> None:
    first = await gql(CREATE_TICKET, {"input": ticket_input(ticketKey="tm-1")}, as_=world.a_owner)
    again = await gql(
        CREATE_TICKET, {"input": ticket_input(ticketKey="tm-1", email="other@example.com")},
        as_=world.a_owner,
    )  # fmt: skip
    assert again["data"]["createTicket"]["status"] == "DUPLICATE"
    assert (
        again["data"]["createTicket"]["ticket"]["id"]
        == first["data"]["createTicket"]["ticket"]["id"]
    )
    assert await db.tickets.count_documents({}) == 1
    assert await db.fans.count_documents({}) == 1
    # the same key in another partner is a different ticket
    other = await gql(CREATE_TICKET, {"input": ticket_input(ticketKey="tm-1")}, as_=world.b_owner)
    assert other["data"]["createTicket"]["status"] == "SUCCESS"


async def test_racing_creates_with_one_key_store_one_ticket(
    gql: GraphQL, world: World, db: Database
) -> None:
    # when eight requests race with the same ticket key and a new buyer
    variables = {"input": ticket_input(ticketKey="race-1", email="racer@example.com")}
    bodies = await asyncio.gather(
        *(gql(CREATE_TICKET, variables, as_=world.a_owner) for _ in range(8))
    )
    outcomes = [b["data"]["createTicket"] for b in bodies]
    # then one succeeds, the rest see the same ticket as DUPLICATE, one ticket and fan exist
    assert sorted(o["status"] for o in outcomes) == ["DUPLICATE"] * 7 + ["SUCCESS"]
    assert len({o["ticket"]["id"] for o in outcomes}) == 1
    assert await db.tickets.count_documents({}) == 1
    assert await db.fans.count_documents({}) == 1


# --- createTickets ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 101])
async def test_batch_size_is_1_to_100(gql: GraphQL, world: World, db: Database, size: int) -> None:
    items = [ticket_input(ticketKey=f"b-{i}", email=f"b{i}@example.com") for i in range(size)]
    body = await gql(CREATE_TICKETS, {"tickets": items}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "tickets"}
    assert await nothing_written(db)


async def test_batch_refuses_callers(gql: GraphQL, world: World, db: Database) -> None:
    items = [ticket_input(ticketKey="x")]
    assert error_codes(await gql(CREATE_TICKETS, {"tickets": items}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    assert error_codes(await gql(CREATE_TICKETS, {"tickets": items}, as_=world.a_app)) == [
        "FORBIDDEN"
    ]
    body = await gql(CREATE_TICKETS, {"tickets": items, "partnerId": world.partner_b},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    assert await nothing_written(db)


async def test_batch_of_100_gives_one_result_per_item(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a stored ticket "k-0"
    await gql(CREATE_TICKET, {"input": ticket_input(ticketKey="k-0")}, as_=world.a_owner)
    # when a batch of 100 repeats it, repeats one key inside itself, and has two invalid items
    items = [ticket_input(ticketKey=f"k-{i}", email=f"f{i % 30}@example.com") for i in range(97)]
    items.append(ticket_input(ticketKey="k-5", email="f5@example.com"))
    items.append(ticket_input(ticketKey="k-bad", paidAmount=-5))
    items.append(ticket_input(ticketKey="k-nokey", eventKey=None))
    body = await gql(CREATE_TICKETS, {"tickets": items}, as_=world.a_owner)
    out = results(body)
    # then every item has its own outcome
    assert [r["index"] for r in out] == list(range(100))
    assert out[0]["status"] == "DUPLICATE"
    assert [r["status"] for r in out[1:97]] == ["SUCCESS"] * 96
    assert out[97]["status"] == "DUPLICATE"
    assert out[97]["ticket"]["id"] == out[5]["ticket"]["id"]
    assert out[98] == {
        "index": 98,
        "status": "INVALID",
        "ticket": None,
        "error": {"message": out[98]["error"]["message"], "field": "paidAmount"},
    }
    assert out[99]["status"] == "INVALID"
    assert out[99]["error"]["field"] == "eventKey"
    assert await db.tickets.count_documents({}) == 97
    assert await db.fans.count_documents({}) == 31  # ada@ + f0..f29
    # buyers with the same email share one fan
    assert out[1]["ticket"]["fan"]["id"] == out[31]["ticket"]["fan"]["id"]
    # and across batches the same items are all duplicates
    again = results(await gql(CREATE_TICKETS, {"tickets": items[:97]}, as_=world.a_owner))
    assert {r["status"] for r in again} == {"DUPLICATE"}
    assert await db.tickets.count_documents({}) == 97


async def test_racing_batches_store_each_key_once(gql: GraphQL, world: World, db: Database) -> None:
    items = [ticket_input(ticketKey=f"r-{i}", email=f"r{i}@example.com") for i in range(20)]
    bodies = await asyncio.gather(
        gql(CREATE_TICKETS, {"tickets": items}, as_=world.a_owner),
        gql(CREATE_TICKETS, {"tickets": items[5:]}, as_=world.a_owner),
        gql(CREATE_TICKETS, {"tickets": items[::-1]}, as_=world.a_owner),
    )
    successes = sum(r["status"] == "SUCCESS" for b in bodies for r in results(b))
    assert successes == 20
    assert await db.tickets.count_documents({}) == 20
    assert await db.fans.count_documents({}) == 20
    ids = {r["ticket"]["ticketKey"]: r["ticket"]["id"] for r in results(bodies[0])}
    for body in bodies[1:]:
        for r in results(body):
            assert ids[r["ticket"]["ticketKey"]] == r["ticket"]["id"]


# --- reads -----------------------------------------------------------------------------


async def test_tickets_list_filters_and_sync_order(
    gql: GraphQL, world: World, db: Database
) -> None:
    await given_tickets(db, world.partner_a, [
        ticket_draft("a@example.com", at("2026-01-01")),
        ticket_draft("b@example.com", at("2026-01-02"), is_deleted=True),
        ticket_draft("c@example.com", at("2026-01-03")),
    ])  # fmt: skip
    await given_tickets(db, world.partner_b, [ticket_draft("z@example.com", at("2026-01-01"))])

    async def listed(filter: dict[str, Any] | None = None) -> list[str]:
        body = await gql(TICKETS, {"filter": filter}, as_=world.a_analyst)
        return [e["node"]["email"] for e in body["data"]["tickets"]["edges"]]

    assert await listed() == ["a@example.com", "c@example.com"]
    assert await listed({"includeDeleted": True}) == ["a@example.com", "b@example.com",
                                                      "c@example.com"]  # fmt: skip
    assert await listed({"minPurchaseDate": "2026-01-02"}) == ["c@example.com"]
    assert await listed({"maxPurchaseDate": "2026-01-01"}) == ["a@example.com"]
    assert await listed({"email": "C@example.com"}) == ["c@example.com"]
    # incremental sync: the cursor of the last page picks up tickets created later
    body = await gql(TICKETS, {"first": 10}, as_=world.a_owner)
    cursor = body["data"]["tickets"]["pageInfo"]["endCursor"]
    await given_tickets(db, world.partner_a, [ticket_draft("d@example.com", at("2025-12-01"))])
    body = await gql(TICKETS, {"first": 10, "after": cursor}, as_=world.a_owner)
    assert [e["node"]["email"] for e in body["data"]["tickets"]["edges"]] == ["d@example.com"]


async def test_ticket_by_id_is_tenant_scoped(gql: GraphQL, world: World, db: Database) -> None:
    [ticket] = await given_tickets(db, world.partner_a, [ticket_draft("a@x.io", at("2026-01-01"))])
    body = await gql(TICKET, {"id": ticket["_id"]}, as_=world.a_analyst)
    assert body["data"]["ticket"]["fan"]["id"] == ticket["fan_id"]
    body = await gql(TICKET, {"id": ticket["_id"]}, as_=world.b_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["data"] is None
    assert error_codes(await gql(TICKET, {"id": ticket["_id"]}, as_=world.anonymous)) == [
        "UNAUTHENTICATED"
    ]


async def _tickets_page_commands(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter, n: int
) -> int:
    await db.tickets.delete_many({})
    await given_tickets(
        db, world.partner_a, [ticket_draft(f"t{i}@example.com", at("2026-01-01")) for i in range(n)]
    )
    commands.start()
    body = await gql(TICKETS, {"first": n}, as_=world.a_owner)
    total = commands.total
    edges = body["data"]["tickets"]["edges"]
    assert len(edges) == n
    assert all(e["node"]["fan"]["email"] == e["node"]["email"] for e in edges)
    return total


async def test_tickets_page_with_fans_is_not_n_plus_1(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    assert await _tickets_page_commands(gql, world, db, commands, 2) == (
        await _tickets_page_commands(gql, world, db, commands, 20)
    )


# --- ticketStats -----------------------------------------------------------------------


async def test_ticket_stats_definitions_on_hand_built_data(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given, window = 2026-02-01 .. 2026-02-28:
    #   old:   bought "Winter" in January and "Spring" in the window     -> returning
    #   new:   first purchase ever in the window (two tickets, one USD)  -> new
    #   late:  bought only after the window                              -> not counted
    #   mixed: bought "Winter" in Jan, "Spring" in window; event-specific -> new for Spring
    #   gone:  a deleted ticket in January does not make a fan returning
    await given_tickets(db, world.partner_a, [
        ticket_draft("old@x.io", at("2026-01-15"), event_name="Winter"),
        ticket_draft("old@x.io", at("2026-02-10"), event_name="Spring", paid_amount=1000),
        ticket_draft("new@x.io", at("2026-02-01", 0), event_name="Spring", paid_amount=2000,
                     num_seats=3),
        ticket_draft("new@x.io", at("2026-02-28", 23), event_name="Spring", paid_amount=700,
                     currency="USD", num_seats=1),
        ticket_draft("late@x.io", at("2026-03-01", 0), event_name="Spring"),
        ticket_draft("gone@x.io", at("2026-01-10"), event_name="Spring", is_deleted=True),
        ticket_draft("gone@x.io", at("2026-02-05"), event_name="Summer", paid_amount=300),
    ])  # fmt: skip
    # and partner B's sales in the window do not count
    await given_tickets(db, world.partner_b, [ticket_draft("old@x.io", at("2026-02-10"))])
    window = {"lo": "2026-02-01", "hi": "2026-02-28"}

    body = await gql(STATS, window, as_=world.a_analyst)
    assert body["data"]["ticketStats"] == {
        "newFansCount": 2, "returningFansCount": 1, "salesCount": 4, "seatsCount": 8,
        "revenue": [{"amount": 3300, "currency": "EUR"}, {"amount": 700, "currency": "USD"}],
    }  # fmt: skip
    # filtered to Spring: old is still returning (first purchase ever was in January)
    body = await gql(STATS, {**window, "eventName": "Spring"}, as_=world.a_analyst)
    stats = body["data"]["ticketStats"]
    assert (stats["newFansCount"], stats["returningFansCount"], stats["salesCount"]) == (1, 1, 3)
    # event-specific: old's January purchase was another event, so old is new for Spring
    body = await gql(STATS, {**window, "eventName": "Spring", "specific": True},
                     as_=world.a_analyst)  # fmt: skip
    stats = body["data"]["ticketStats"]
    assert (stats["newFansCount"], stats["returningFansCount"]) == (2, 0)
    # a window with the January purchases: nobody bought before it
    body = await gql(STATS, {"lo": "2026-01-01", "hi": "2026-03-31"}, as_=world.a_analyst)
    stats = body["data"]["ticketStats"]
    assert (stats["newFansCount"], stats["returningFansCount"], stats["salesCount"]) == (4, 0, 6)


async def test_ticket_stats_rejections(gql: GraphQL, world: World) -> None:
    body = await gql(STATS, {"lo": "2026-02-02", "hi": "2026-02-01"}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "maxPurchaseDate"}
    body = await gql(STATS, {"lo": "2026-02-01", "hi": "2026-02-02"}, as_=world.a_app)
    assert error_codes(body) == ["FORBIDDEN"]
    body = await gql(STATS, {"lo": "2026-02-01", "hi": "2026-02-02"}, as_=world.operator)
    assert only_error(body)["extensions"]["field"] == "partnerId"
