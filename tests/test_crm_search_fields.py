"""The fan search's pre-computed fields (`loaders.crm.search_fields`): pages walked after a
cursor against the Python oracle of test_crm_search (ids, order, totalCount) over generated fans
of two interleaved partners, kept by fan writes, the ticket's metro area copied onto its buyer,
and the backfill at app start of fans written before the fields existed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway.app import create_app
from gateway.settings import Settings
from gateway.storage.mongo import Database, Document
from loaders import crm as data
from loaders.base import utcnow
from loaders.crm import search_fields
from tests.conftest import CommandCounter, GraphQL, Persona, World
from tests.crm_fixtures import given_fan, given_tickets, ticket_draft
from tests.test_crm_search import (
    FAN_ROW,
    consistent,
    filter_variables,
    oracle,
    store,
)

PAGE = """
query($filter: FanFilter, $first: Int, $after: String) {
  fans(filter: $filter, first: $first, after: $after) {
    totalCount edges { node { id } } pageInfo { hasNextPage endCursor }
  }
}"""
FAN = """query($id: ID!) {
  fan(id: $id) { rating metroArea networks lastCampaignId lastCampaignTitle lastActiveAt }
}"""
UPDATE_FAN = """
mutation($id: ID!, $input: UpdateFanInput!) { updateFan(id: $id, input: $input) { id } }"""

# The filters this module's work changed (pre-computed fields, one-value equalities, the
# tickets' indexed equalities, the ordered walk), alone and combined.
CHANGED = st.fixed_dictionaries({}, optional={
    "youngestAge": st.integers(0, 100), "oldestAge": st.integers(0, 100),
    "inactiveForDays": st.integers(1, 60), "activeWithinDays": st.integers(1, 60),
    "ratingMin": st.integers(0, 5), "ratingMax": st.integers(0, 5),
    "networks": st.lists(st.sampled_from(["facebook", "spotify"]), min_size=1, unique=True),
    "provinces": st.lists(st.sampled_from(["ON", "BC"]), min_size=1, unique=True),
    "metroAreas": st.lists(st.sampled_from(["M1", "M2"]), min_size=1, unique=True),
    "sources": st.lists(st.sampled_from(["web", "pos"]), min_size=1, unique=True),
    "isSubscribed": st.booleans(),
    "tags": st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, unique=True),
    "tagsAll": st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, unique=True),
    "ticketEventName": st.sampled_from(["x", "y"]), "ticketPriceCode": st.sampled_from(["x", "y"]),
    "ticketPurchasedDays": st.integers(1, 90), "ticketNegative": st.booleans(),
    "ticketSeatPriceMin": st.integers(0, 5000), "ticketSalesCountMin": st.integers(1, 3),
})  # fmt: skip


def node_ids(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    return [e["node"]["id"] for e in body["data"]["fans"]["edges"]]


async def walk(gql: GraphQL, as_: Persona, f: dict[str, Any], first: int) -> list[str]:
    """Every page of the search in order, checking each page's totalCount is the same."""
    out: list[str] = []
    after, total = None, None
    for _ in range(50):
        body = await gql(PAGE, {"filter": f, "first": first, "after": after}, as_=as_)
        out += node_ids(body)
        fans = body["data"]["fans"]
        assert total in (None, fans["totalCount"])
        total = fans["totalCount"]
        if not fans["pageInfo"]["hasNextPage"]:
            assert total == len(out)
            return out
        after = fans["pageInfo"]["endCursor"]
    raise AssertionError("the walk did not end")


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=st.lists(FAN_ROW, max_size=12), f=CHANGED.filter(consistent),
       first=st.integers(1, 3))  # fmt: skip
async def test_pages_walked_after_cursors_match_the_oracle_in_order(
    gql: GraphQL, world: World, db: Database, rows: list[dict[str, Any]], f: dict[str, Any],
    first: int,
) -> None:  # fmt: skip
    # given generated fans and tickets of two partners, interleaved, created in the same few
    # milliseconds (so pages end inside runs of equal creation times)
    await db.fans.delete_many({})
    await db.tickets.delete_many({})
    fans = await store(db, world, rows)
    today = utcnow().date()
    # when partner A walks the search page by page
    got = await walk(gql, world.a_analyst, filter_variables(f, today), first)
    # then it lists exactly the oracle's fans of A, newest first (id breaks ties), once each
    hits = [fan for fan, row in zip(fans, rows, strict=True)
            if row["partner"] == "A" and oracle(row, f, today)]  # fmt: skip
    hits.sort(key=lambda fan: (fan["created_ms"], fan["_id"]), reverse=True)
    assert got == [fan["_id"] for fan in hits], f


async def test_pages_cost_the_same_commands_for_any_page_size(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given 25 fans of A (born 1990, never active, rated 4) and one of B
    for _ in range(25):
        await given_fan(db, world.partner_a, birth_date="1990-05-05", rating=4, tags=["vip"],
                        province="ON")  # fmt: skip
    await given_fan(db, world.partner_b, birth_date="1990-05-05", rating=4)
    cases = [{"youngestAge": 20, "oldestAge": 60}, {"inactiveForDays": 3},
             {"ratingMin": 4, "networks": None, "provinces": ["ON"]},
             {"tags": ["vip"], "oldestAge": 90}]  # fmt: skip
    for f in cases:
        counts = []
        for first in (2, 20):
            # when the first page and the next one are read with totalCount
            commands.start()
            body = await gql(PAGE, {"filter": f, "first": first}, as_=world.a_owner)
            after = body["data"]["fans"]["pageInfo"]["endCursor"]
            body = await gql(PAGE, {"filter": f, "first": first, "after": after},
                             as_=world.a_owner)  # fmt: skip
            assert body["data"]["fans"]["totalCount"] == 25, f
            counts.append(commands.total)
        # then the command count does not grow with the page size
        assert counts[0] == counts[1], f


async def test_a_new_birth_date_moves_the_fan_in_the_age_search(
    gql: GraphQL, world: World, db: Database
) -> None:
    fan = await given_fan(db, world.partner_a, birth_date="2000-01-01")
    f = {"youngestAge": 40, "oldestAge": 60}
    assert node_ids(await gql(PAGE, {"filter": f}, as_=world.a_owner)) == []
    born = (utcnow().date() - timedelta(days=365 * 50)).isoformat()
    body = await gql(UPDATE_FAN, {"id": fan["_id"], "input": {"birthDate": born}},
                     as_=world.a_owner)  # fmt: skip
    assert "errors" not in body, body
    assert node_ids(await gql(PAGE, {"filter": f}, as_=world.a_owner)) == [fan["_id"]]
    body = await gql(UPDATE_FAN, {"id": fan["_id"], "input": {"birthDate": None}},
                     as_=world.a_owner)  # fmt: skip
    assert "errors" not in body, body
    assert node_ids(await gql(PAGE, {"filter": {"oldestAge": 150}}, as_=world.a_owner)) == []
    assert "birth_day" not in (await db.fans.find_one({"_id": fan["_id"]}) or {})


async def test_a_ticket_gives_its_buyer_its_metro_area(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a fan without a metro area, one with its own, and a new buyer's email
    bare = await given_fan(db, world.partner_a)
    own = await given_fan(db, world.partner_a, metro_area="Own")
    abroad = await given_fan(db, world.partner_a)
    new_email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    now = utcnow()
    # when tickets with metro areas are stored (US/CA or no country; one from elsewhere)
    await given_tickets(db, world.partner_a, [
        ticket_draft(bare["email"], now - timedelta(days=2), metro_area="Old DMA",
                     country_code="US"),
        ticket_draft(bare["email"], now, metro_area="Toronto CMA", country_code="CA"),
        ticket_draft(own["email"], now, metro_area="Toronto CMA", country_code="CA"),
        ticket_draft(abroad["email"], now, metro_area="Paris", country_code="FR"),
        ticket_draft(new_email, now, metro_area="Toronto CMA"),
    ])  # fmt: skip
    created = await db.fans.find_one({"partner_id": world.partner_a, "email": new_email})
    assert created is not None
    # then the buyers without one have their latest ticket's; the fan's own value wins
    for fan_id, want in ((bare["_id"], "Toronto CMA"), (own["_id"], "Own"),
                         (abroad["_id"], None), (created["_id"], "Toronto CMA")):  # fmt: skip
        body = await gql(FAN, {"id": fan_id}, as_=world.a_owner)
        assert body["data"]["fan"]["metroArea"] == want
    # …and the metroAreas filter finds them, only for the ticket's partner
    f = {"metroAreas": ["Toronto CMA"]}
    body = await gql(PAGE, {"filter": f}, as_=world.a_owner)
    assert sorted(node_ids(body)) == sorted([bare["_id"], created["_id"]])
    assert node_ids(await gql(PAGE, {"filter": f}, as_=world.b_owner)) == []


def old_shaped(partner_id: str, **fields: Any) -> Document:
    """A fan as stored before the search's pre-computed and derived fields existed."""
    doc = data.new_fan_doc(partner_id, {"email": f"old-{uuid.uuid4().hex[:8]}@example.com",
                                        **fields})  # fmt: skip
    for key in ("search_fields", "birth_day", "active_ms", "rating", "networks", "idol_names",
                "metro_area", "last_campaign_title", "last_campaign_id"):  # fmt: skip
        doc.pop(key, None)
    return doc


async def test_fans_written_before_the_fields_are_backfilled_at_app_start(
    gql: GraphQL, world: World, db: Database, aiohttp_client: Any, settings: Settings
) -> None:
    # given old-shaped fans of both partners, straight in the store: one born in 1980 with an
    # activity (networks, campaign) and a ticket with a metro area, one never active
    now = utcnow()
    active = old_shaped(world.partner_a, birth_date="1980-03-03")
    idle = old_shaped(world.partner_a)
    other = old_shaped(world.partner_b, birth_date="1980-03-03")
    await db.fans.insert_many([active, idle, other])
    await db.fan_activities.insert_one({
        "_id": f"fac_{uuid.uuid4().hex[:10]}", "partner_id": world.partner_a,
        "fan_id": active["_id"], "created_at": now - timedelta(days=40), "campaign_title": "Quiz",
        "campaign_id": "cmp_1", "networks": ["spotify"], "idol_names": ["i1"],
    })  # fmt: skip
    await db.tickets.insert_one({
        "_id": f"tkt_{uuid.uuid4().hex[:10]}", "partner_id": world.partner_a, "seq": 1,
        "fan_id": active["_id"], "email": active["email"], "purchased_at": now,
        "metro_area": "Toronto CMA", "country_code": "CA", "is_deleted": False,
        "event_name": "Show", "num_seats": 1, "paid_amount": 100, "currency": "CAD",
    })  # fmt: skip
    searches: list[tuple[dict[str, Any], list[str]]] = [
        ({"youngestAge": 30, "oldestAge": 60}, [active["_id"]]),
        ({"inactiveForDays": 30}, sorted([active["_id"], idle["_id"]])),
        ({"metroAreas": ["Toronto CMA"]}, [active["_id"]]),
        ({"networks": ["spotify"]}, [active["_id"]]),
        ({"ratingMax": 0}, sorted([active["_id"], idle["_id"]])),
    ]
    assert node_ids(await gql(PAGE, {"filter": searches[0][0]}, as_=world.a_owner)) == []
    # when the gateway starts again on the same database
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))

    async def search(f: dict[str, Any]) -> dict[str, Any]:
        response = await client.post("/graphql", json={"query": PAGE, "variables": {
            "filter": f, "first": 50}}, headers=world.a_owner.headers)  # fmt: skip
        body: dict[str, Any] = await response.json()
        return body

    # then the search finds them by every pre-computed and derived field, A's only
    for f, want in searches:
        body = await search(f)
        assert sorted(node_ids(body)) == want, f
        assert body["data"]["fans"]["totalCount"] == len(want), f
    stored = await db.fans.find_one({"_id": active["_id"]})
    assert stored is not None
    assert stored["networks"] == ["spotify"] and stored["idol_names"] == ["i1"]
    assert stored["last_campaign_id"] == "cmp_1" and stored["last_campaign_title"] == "Quiz"
    assert stored["search_fields"] == search_fields.SEARCH_FIELDS_VERSION
    body = await gql(FAN, {"id": active["_id"]}, as_=world.a_owner)
    assert body["data"]["fan"]["lastCampaignId"] == "cmp_1"
    assert body["data"]["fan"]["lastActiveAt"] is not None
    # …and the backfill is idempotent: nothing is left to do
    assert await search_fields.backfill_search_fields(db) == 0
