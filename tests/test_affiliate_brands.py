"""Reference data, the partner's brands (blocked when every participation was rejected)
and the clicks list's `uniqueClickCount` against a Python oracle; two tenants, N+1."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gateway.storage.mongo import Database
from loaders import affiliate as data
from tests.affiliate_fixtures import approve, catalogue, clicks
from tests.conftest import CommandCounter, GraphQL, World, error_codes

REFERENCE = """
{ affiliateReference { countries currencies { code minorUnits } locales timezones devices
                       conversionStatuses verticals metrics dimensions intervals } }"""
BRANDS = """
query B($first: Int) {
  affiliateBrands(first: $first) {
    totalCount edges { node { brand { id name } participationCount blocked } }
  }
}"""
CLICKS = """
query K($cid: ID) {
  clicks(from: "2025-01-01T00:00:00+00:00", to: "2025-02-01T00:00:00+00:00", campaignId: $cid,
         first: 1) { totalCount uniqueClickCount }
}"""


async def test_reference_data(gql: GraphQL, world: World) -> None:
    body = await gql(REFERENCE, as_=world.a_analyst)
    ref = body["data"]["affiliateReference"]
    assert "GB" in ref["countries"] and "Europe/London" in ref["timezones"]
    currencies = {c["code"]: c["minorUnits"] for c in ref["currencies"]}
    assert (currencies["GBP"], currencies["JPY"], currencies["KWD"]) == (2, 0, 3)
    assert ref["metrics"] == list(data.METRICS) and "P1D" in ref["intervals"]
    assert error_codes(await gql(REFERENCE, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(REFERENCE, as_=world.anonymous)) == ["UNAUTHENTICATED"]


async def test_brands_of_the_partner(gql: GraphQL, world: World, db: Database) -> None:
    joined = await catalogue(db, "Joined")
    refused = await catalogue(db, "Refused")
    await catalogue(db, "Unknown")
    await approve(db, world.partner_a, joined.open)
    ptc = await data.insert_participation(db, world.partner_a, refused.open, False)
    await db.affiliate_participations.update_one({"_id": ptc["_id"]},
                                                 {"$set": {"status": "rejected"}})  # fmt: skip
    await data.insert_participation(db, world.partner_a, joined.auto, False)
    await approve(db, world.partner_b, refused.auto)
    body = await gql(BRANDS, {}, as_=world.a_owner)
    rows = {e["node"]["brand"]["name"]: e["node"] for e in body["data"]["affiliateBrands"]["edges"]}
    assert set(rows) == {"Joined", "Refused"}
    assert (rows["Joined"]["participationCount"], rows["Joined"]["blocked"]) == (2, False)
    assert (rows["Refused"]["participationCount"], rows["Refused"]["blocked"]) == (1, True)
    body = await gql(BRANDS, {}, as_=world.b_owner)
    assert [e["node"]["brand"]["name"] for e in body["data"]["affiliateBrands"]["edges"]] == [
        "Refused"
    ]
    assert body["data"]["affiliateBrands"]["edges"][0]["node"]["blocked"] is False


async def test_brands_have_no_n_plus_one(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    for i in range(20):
        cat = await catalogue(db, f"Brand{i:02d}")
        await approve(db, world.partner_a, cat.open)

    async def run(first: int) -> int:
        commands.start()
        body = await gql(BRANDS, {"first": first}, as_=world.a_owner)
        assert len(body["data"]["affiliateBrands"]["edges"]) == first
        return commands.total

    assert await run(2) == await run(20)


@pytest.mark.parametrize("seed", [21, 22, 23])
async def test_unique_click_count_matches_the_oracle(
    gql: GraphQL, world: World, db: Database, seed: int
) -> None:
    rng = random.Random(seed)
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
        await approve(db, pid, cat.auto)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    mine: list[tuple[str, str]] = []
    for _ in range(rng.randint(5, 40)):
        pid = rng.choice((world.partner_a, world.partner_b))
        camp = rng.choice((cat.open, cat.auto))
        cookie = f"ck-{rng.randint(0, 8)}"
        moment = start + timedelta(hours=rng.randint(0, 24 * 40))
        await clicks(db, pid, camp, [moment], cookie_id=cookie)
        if pid == world.partner_a and moment < datetime(2025, 2, 1, tzinfo=UTC):
            mine.append((camp["_id"], cookie))
    body = await gql(CLICKS, {}, as_=world.a_analyst)
    result = body["data"]["clicks"]
    assert result == {"totalCount": len(mine), "uniqueClickCount": len({c for _, c in mine})}
    body = await gql(CLICKS, {"cid": cat.open["_id"]}, as_=world.a_analyst)
    opened = [c for camp, c in mine if camp == cat.open["_id"]]
    assert body["data"]["clicks"]["uniqueClickCount"] == len(set(opened))
