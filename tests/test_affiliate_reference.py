"""Reference data (`affiliateReference`, the seed's /reference/*) and the partner's brands
(`partnerBrands`): every field, guards, two tenants, paging, N+1."""

from __future__ import annotations

from typing import Any

from gateway.storage.mongo import Database
from loaders import affiliate as data
from tests.affiliate_fixtures import approve, catalogue
from tests.conftest import CommandCounter, GraphQL, World, error_codes

REFERENCE = """
query {
  affiliateReference {
    countries timezones verticals locales conversionStatuses voucherStatuses
    currencies { code exponent }
    devices { id title description }
    partnershipModels { id title description }
    trafficSources { id title description }
    userContexts { id title description }
    conversionTypes { id title description }
    conversionMetrics { id title description }
  }
}"""
BRANDS = """
query B($pid: ID, $ids: [ID!], $first: Int, $after: String) {
  partnerBrands(partnerId: $pid, brandIds: $ids, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { blocked brand { id name vertical } } }
  }
}"""


async def test_reference_lists_every_field(gql: GraphQL, world: World) -> None:
    # when A's analyst reads the reference data
    body = await gql(REFERENCE, as_=world.a_analyst)
    ref = body["data"]["affiliateReference"]
    # then every list is the network's, and the analytics labels come from them
    assert "GB" in ref["countries"] and len(ref["countries"]) == len(data.COUNTRIES)
    assert {"code": "JPY", "exponent": 0} in ref["currencies"]
    assert {"code": "GBP", "exponent": 2} in ref["currencies"]
    assert {"code": "KWD", "exponent": 3} in ref["currencies"]
    assert "Europe/London" in ref["timezones"] and "Asia/Kolkata" in ref["timezones"]
    assert "RETAIL" in ref["verticals"] and "en_us" in ref["locales"]
    assert ref["conversionStatuses"] == ["approved", "pending", "rejected"]
    assert ref["voucherStatuses"] == ["expired", "ignored", "invalid", "unknown", "valid"]
    assert [d["id"] for d in ref["devices"]] == list(data.DEVICES)
    assert {"id": "2", "title": "CPA", "description": "Cost per aquisition"} in ref[
        "partnershipModels"
    ]
    assert {e["title"] for e in ref["trafficSources"]} >= {"Other", "Affiliate"}
    assert {e["title"] for e in ref["userContexts"]} >= {"Other", "Web"}
    assert {e["id"]: e["title"] for e in ref["conversionTypes"]}["1"] == "standard"
    assert {e["id"]: e["title"] for e in ref["conversionMetrics"]}["2"] == "Standard"
    for name in ("partnershipModels", "trafficSources", "userContexts", "conversionMetrics"):
        ids = [e["id"] for e in ref[name]]
        assert len(ids) == len(set(ids)), name


async def test_reference_guard(gql: GraphQL, world: World) -> None:
    for persona in (world.anonymous, world.a_member):
        body = await gql(REFERENCE, as_=persona)
        assert body["data"] is None
        assert error_codes(body) and error_codes(body)[0] in {"UNAUTHENTICATED", "FORBIDDEN"}


async def test_partner_brands_are_their_own_with_blocked(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given brands Acme (A approved, A rejected), Beta (A rejected only), Gamma (B only)
    acme = await catalogue(db, "Acme")
    beta = await catalogue(db, "Beta")
    gamma = await catalogue(db, "Gamma")
    await approve(db, world.partner_a, acme.open)
    rejected = await data.insert_participation(db, world.partner_a, acme.auto, True)
    await db.affiliate_participations.update_one({"_id": rejected["_id"]},
                                                 {"$set": {"status": "rejected"}})  # fmt: skip
    only = await data.insert_participation(db, world.partner_a, beta.open, True)
    await db.affiliate_participations.update_one({"_id": only["_id"]},
                                                 {"$set": {"status": "rejected"}})  # fmt: skip
    await approve(db, world.partner_b, gamma.open)
    # when A lists its brands, one per page
    seen: list[tuple[str, bool]] = []
    after = None
    while True:
        body = await gql(BRANDS, {"first": 1, "after": after}, as_=world.a_analyst)
        conn = body["data"]["partnerBrands"]
        assert conn["totalCount"] == 2
        seen += [(e["node"]["brand"]["name"], e["node"]["blocked"]) for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    # then A sees Acme (not blocked) and Beta (blocked), never B's Gamma
    assert sorted(seen) == [("Acme", False), ("Beta", True)]
    body = await gql(BRANDS, {"ids": [beta.brand["_id"], gamma.brand["_id"]]},
                     as_=world.a_analyst)  # fmt: skip
    assert [e["node"]["brand"]["name"] for e in body["data"]["partnerBrands"]["edges"]] == ["Beta"]
    # and B (or the operator for B) sees Gamma only; B cannot ask for A
    body = await gql(BRANDS, {}, as_=world.b_owner)
    assert [e["node"]["brand"]["name"] for e in body["data"]["partnerBrands"]["edges"]] == ["Gamma"]
    body = await gql(BRANDS, {"pid": world.partner_b}, as_=world.operator)
    assert body["data"]["partnerBrands"]["totalCount"] == 1
    body = await gql(BRANDS, {"pid": world.partner_a}, as_=world.b_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    for bad in ({"first": 0}, {"after": "nope"}):
        body = await gql(BRANDS, bad, as_=world.a_analyst)
        assert error_codes(body) == ["BAD_USER_INPUT"], bad


async def test_partner_brands_cost_the_same_commands_for_any_count(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    async def cost() -> tuple[int, dict[str, Any]]:
        commands.start()
        body = await gql(BRANDS, {"first": 100}, as_=world.a_analyst)
        return commands.total, body["data"]["partnerBrands"]

    shop = await catalogue(db, "First")
    await approve(db, world.partner_a, shop.open)
    few, _ = await cost()
    for i in range(6):
        more = await catalogue(db, f"More {i}")
        await approve(db, world.partner_a, more.open)
    many, conn = await cost()
    # then 7 brands cost what 1 brand costs (brands batched by one loader)
    assert len(conn["edges"]) == 7
    assert many == few
