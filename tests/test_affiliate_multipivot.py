"""The seed's `multipivot[{pivot}][]` secondary pivot filter on the conversion and click
reports: rejections first, then random pivot combinations over two interleaved tenants,
checked against a Python oracle, and the cost of a page."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gateway.storage.mongo import Database, Document
from loaders import affiliate as data
from tests.affiliate_fixtures import approve, catalogue
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

CONVERSIONS = """
query C($pivots: [ReportPivotFilterInput!], $campaign: ID, $first: Int = 100) {
  conversions(from: "2025-01-01T00:00:00+00:00", multipivot: $pivots, campaignId: $campaign,
              first: $first) {
    totalCount edges { node { id } }
  }
}"""
CLICKS = """
query K($pivots: [ReportPivotFilterInput!], $campaign: ID, $first: Int = 100) {
  clicks(from: "2025-01-01T00:00:00+00:00", multipivot: $pivots, campaignId: $campaign,
         first: $first) {
    totalCount edges { node { id } }
  }
}"""
FIELDS = {"CAMPAIGN": "campaign_id", "COUNTRY": "country", "DEVICE": "device",
          "CREATIVE_ID": "creative_id", "CREATIVE_TYPE": "creative_type"}  # fmt: skip
COUNTRIES = ("GB", "DE", "FR", "ES")
DEVICES = ("desktop", "mobile", "tablet", "other")


async def _events(
    db: Database, world: World, rng: random.Random
) -> tuple[list[Document], list[str]]:
    cat = await catalogue(db)
    campaigns = [cat.open, cat.auto, cat.terms]
    for pid in (world.partner_a, world.partner_b):
        for c in campaigns:
            await approve(db, pid, c)
    start = datetime(2025, 1, 5, tzinfo=UTC)
    clicks, conversions = [], []
    for i in range(60):  # the two tenants interleaved in time
        pid = (world.partner_a, world.partner_b)[i % 2]
        click = data.click_doc(
            pid, rng.choice(campaigns), start + timedelta(minutes=i),
            country=rng.choice(COUNTRIES), device=rng.choice(DEVICES),
            creative_id=rng.choice((0, 7, 9)), creative_type=rng.choice((0, 1, 2)),
        )  # fmt: skip
        clicks.append(click)
        if i % 3:
            campaign = next(c for c in campaigns if c["_id"] == click["campaign_id"])
            conversions.append(data.conversion_doc(
                pid, campaign, click["occurred_at"] + timedelta(seconds=30), currency="GBP",
                status="approved", items=[{"value": 100, "commission": 10}], click=click,
                country=click["country"], device=click["device"],
            ))  # fmt: skip
    await db.affiliate_clicks.insert_many(clicks)
    await db.affiliate_conversions.insert_many(conversions)
    return clicks + conversions, [c["_id"] for c in campaigns]


def _value(doc: Document, pivot: str) -> str:
    return str(doc[FIELDS[pivot]])


async def test_multipivot_rejections(gql: GraphQL, world: World) -> None:
    for pivots in (
        [{"pivot": "CAMPAIGN", "values": ["nope"]}],
        [{"pivot": "CAMPAIGN", "values": []}],
        [{"pivot": "COUNTRY", "values": ["XX"]}],
        [{"pivot": "DEVICE", "values": ["fridge"]}],
        [{"pivot": "CREATIVE_ID", "values": ["-1"]}],
        [{"pivot": "CREATIVE_TYPE", "values": ["1"] * 101}],
        [{"pivot": "COUNTRY", "values": ["GB"]}, {"pivot": "COUNTRY", "values": ["DE"]}],
    ):
        for query in (CONVERSIONS, CLICKS):
            body = await gql(query, {"pivots": pivots}, as_=world.a_analyst)
            assert error_codes(body) == ["BAD_USER_INPUT"], pivots
            assert only_error(body)["extensions"]["field"] == "multipivot"
    body = await gql(CLICKS, {"pivots": [{"pivot": "SHOE", "values": ["x"]}]}, as_=world.a_analyst)
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"] or "errors" in body


async def test_multipivot_matches_the_oracle_per_tenant(
    gql: GraphQL, world: World, db: Database
) -> None:
    rng = random.Random(17)
    events, campaign_ids = await _events(db, world, rng)
    clicks = [e for e in events if e["_id"].startswith("clk_")]
    conversions = [e for e in events if e["_id"].startswith("cnv_")]
    choices = {"CAMPAIGN": campaign_ids, "COUNTRY": [*COUNTRIES, "IT"],
               "DEVICE": list(DEVICES), "CREATIVE_ID": ["0", "7", "9", "8"],
               "CREATIVE_TYPE": ["0", "1", "2"]}  # fmt: skip
    for _ in range(12):
        chosen = rng.sample(sorted(FIELDS), rng.randint(1, 3))
        pivots = [{"pivot": p, "values": rng.sample(choices[p], rng.randint(1, 2))} for p in chosen]
        campaign = rng.choice([None, campaign_ids[0]])
        for persona, pid in ((world.a_analyst, world.partner_a), (world.b_owner, world.partner_b)):
            for query, key, rows in ((CLICKS, "clicks", clicks),
                                     (CONVERSIONS, "conversions", conversions)):  # fmt: skip
                want = {
                    r["_id"] for r in rows
                    if r["partner_id"] == pid and (campaign is None or r["campaign_id"] == campaign)
                    and all(_value(r, p["pivot"]) in p["values"] for p in pivots)
                }  # fmt: skip
                body = await gql(query, {"pivots": pivots, "campaign": campaign}, as_=persona)
                assert "errors" not in body, body
                got = body["data"][key]
                assert {e["node"]["id"] for e in got["edges"]} == want, (key, pivots, campaign)
                assert got["totalCount"] == len(want)


async def test_multipivot_costs_the_same_for_any_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    await _events(db, world, random.Random(3))
    pivots = [{"pivot": "DEVICE", "values": list(DEVICES)}]

    async def run(query: str, first: int) -> int:
        commands.start()
        body = await gql(query, {"pivots": pivots, "first": first}, as_=world.a_analyst)
        assert "errors" not in body, body
        return commands.total

    for query in (CLICKS, CONVERSIONS):
        assert await run(query, 2) == await run(query, 20)
