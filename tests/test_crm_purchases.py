"""CRM purchases (seed 002): `upsertPurchase` by purchaseKey (rejections first, racing upserts
of one key, the buyer's fan matched or created) and `purchases` (network, date window, product /
merchant / location filters, cursor pages, tenants, N+1, a Python oracle)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.core.ids import new_id
from gateway.demo import crm
from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders.base import utcnow
from tests.conftest import CommandCounter, GraphQL, Persona, World, error_codes, only_error
from tests.crm_fixtures import given_fan
from tests.test_crm_keys import key_persona

FIELDS = """
id purchaseKey network orderKey merchantKey locationKey customerKey orderedAt grossSaleAmount
netSaleAmount deductionAmount currency productKey productName productCategory email phone
countryCode province city updatedAt fanId fan { id email }"""
UPSERT = f"""
mutation($input: UpsertPurchaseInput!) {{
  upsertPurchase(input: $input) {{ created purchase {{ {FIELDS} }} }}
}}"""
SEARCH = """
query($filter: PurchaseFilter!, $first: Int, $after: String) {
  purchases(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { purchaseKey grossSaleAmount netSaleAmount fan { id email } } }
  }
}"""


def purchase(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "purchaseKey": "shop-o1-1", "network": "shop", "orderKey": "o1", "merchantKey": "m1",
        "orderTimestamp": "2026-03-01T10:00:00+00:00", "grossSaleAmount": 5000,
        "netSaleAmount": 4500, "currency": "eur", "email": "Ada@Example.com",
    }  # fmt: skip
    value.update(overrides)
    return value


def keys(body: dict[str, Any]) -> list[str]:
    return [e["node"]["purchaseKey"] for e in body["data"]["purchases"]["edges"]]


def search(**more: Any) -> dict[str, Any]:
    return {"filter": {"network": "shop", "startDate": "2026-03-01", "endDate": "2026-03-31",
                       **more}}  # fmt: skip


@pytest.fixture
async def a_secret(db: Database, world: World) -> Persona:
    return await key_persona(db, world.partner_a, "secret", ["crm"])


# --- upsertPurchase --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"purchaseKey": " "}, "purchaseKey"), ({"purchaseKey": "k" * 201}, "purchaseKey"),
     ({"network": ""}, "network"), ({"orderKey": ""}, "orderKey"),
     ({"merchantKey": ""}, "merchantKey"), ({"grossSaleAmount": -1}, "grossSaleAmount"),
     ({"netSaleAmount": -1}, "netSaleAmount"), ({"netSaleAmount": 5001}, "netSaleAmount"),
     ({"currency": "euro"}, "currency"), ({"email": "nope"}, "email"),
     ({"phone": "abc"}, "phone"), ({"countryCode": "Canada"}, "countryCode"),
     ({"province": "BC"}, "province"), ({"city": "Vancouver"}, "city"),
     ({"productName": "p" * 201}, "productName"), ({"partnerId": "par_other"}, "partnerId")],
)  # fmt: skip
async def test_upsert_purchase_rejections(
    gql: GraphQL, world: World, db: Database, overrides: dict[str, Any], field: str
) -> None:
    body = await gql(UPSERT, {"input": purchase(**overrides)}, as_=world.a_owner)
    error = only_error(body)
    assert error["extensions"]["field"] == field, error
    assert await db.crm_purchases.count_documents({}) == 0
    assert await db.fans.count_documents({}) == 0


async def test_upsert_purchase_guards(
    gql: GraphQL, world: World, db: Database, a_secret: Persona
) -> None:
    public = await key_persona(db, world.partner_a, "public", ["crm"])
    segments_only = await key_persona(db, world.partner_a, "secret", ["segments"])
    for persona, code in ((public, "FORBIDDEN"), (segments_only, "FORBIDDEN"),
                          (world.a_analyst, "FORBIDDEN"), (world.a_app, "FORBIDDEN"),
                          (world.a_member, "FORBIDDEN"), (world.anonymous, "UNAUTHENTICATED")):
        body = await gql(UPSERT, {"input": purchase()}, as_=persona)
        assert error_codes(body) == [code], persona.name
    # staff and keys cannot write into another partner
    for persona in (world.a_owner, a_secret):
        body = await gql(UPSERT, {"input": purchase(partnerId=world.partner_b)}, as_=persona)
        assert error_codes(body) == ["NOT_FOUND"], persona.name
    # operators must name an existing partner
    body = await gql(UPSERT, {"input": purchase()}, as_=world.operator)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "partnerId"}
    body = await gql(UPSERT, {"input": purchase(partnerId=new_id("par"))}, as_=world.operator)
    assert only_error(body)["extensions"] == {"code": "NOT_FOUND", "field": "partnerId"}
    assert await db.crm_purchases.count_documents({}) == 0


async def test_upsert_creates_then_updates_and_matches_the_fan(
    gql: GraphQL, world: World, db: Database, a_secret: Persona
) -> None:
    # given a fan of A known by phone only
    known = await given_fan(db, world.partner_a, email=None, phone="+15550001111")
    # when a secret key upserts a new purchase with every field
    input = purchase(locationKey="l1", customerKey="c1", countryCode="ca",
                     province="British Columbia", city="Vancouver", productKey="p1",
                     productName="Tour Shirt", productCategory="merch")  # fmt: skip
    body = await gql(UPSERT, {"input": input}, as_=a_secret)
    out = body["data"]["upsertPurchase"]
    # then it is created with its fan (a new fan for the unknown email)
    assert out["created"] is True
    p = out["purchase"]
    fan = await db.fans.find_one({"email": "ada@example.com"})
    assert fan is not None and fan["partner_id"] == world.partner_a
    assert fan["country_code"] == "CA" and fan["city"] == "Vancouver"
    assert {k: v for k, v in p.items() if k not in ("id", "updatedAt")} == {
        "purchaseKey": "shop-o1-1", "network": "shop", "orderKey": "o1", "merchantKey": "m1",
        "locationKey": "l1", "customerKey": "c1", "orderedAt": "2026-03-01T10:00:00.000Z",
        "grossSaleAmount": 5000, "netSaleAmount": 4500, "deductionAmount": 500,
        "currency": "EUR", "productKey": "p1", "productName": "Tour Shirt",
        "productCategory": "merch", "email": "ada@example.com", "phone": None,
        "countryCode": "CA", "province": "British Columbia", "city": "Vancouver",
        "fanId": fan["_id"], "fan": {"id": fan["_id"], "email": "ada@example.com"},
    }  # fmt: skip
    # when the same key comes again with other amounts and the known fan's phone
    again = purchase(netSaleAmount=5000, email=None, phone="+1 555 000 1111",
                     orderTimestamp="2026-03-02T09:00:00+01:00")  # fmt: skip
    body = await gql(UPSERT, {"input": again}, as_=a_secret)
    out = body["data"]["upsertPurchase"]
    # then the one purchase is replaced (the time stored in UTC) and matched by phone
    assert out["created"] is False
    assert out["purchase"]["id"] == p["id"]
    assert out["purchase"]["deductionAmount"] == 0
    assert out["purchase"]["orderedAt"] == "2026-03-02T08:00:00.000Z"
    assert out["purchase"]["fanId"] == known["_id"]
    assert await db.crm_purchases.count_documents({}) == 1
    assert await db.fans.count_documents({}) == 2
    # without email and phone the purchase has no fan
    body = await gql(UPSERT, {"input": purchase(purchaseKey="k2", email=None)}, as_=a_secret)
    assert body["data"]["upsertPurchase"]["purchase"]["fan"] is None


async def test_racing_upserts_of_one_key_store_one_purchase_and_one_fan(
    gql: GraphQL, world: World, db: Database, a_secret: Persona
) -> None:
    # given both partners sending one new key and one new buyer eight times at once
    b_secret = await key_persona(db, world.partner_b, "secret", ["crm"])
    bodies = await asyncio.gather(*(
        gql(UPSERT, {"input": purchase(grossSaleAmount=6000 + i)},
            as_=a_secret if i % 2 else b_secret)
        for i in range(16)
    ))  # fmt: skip
    # then each partner has one purchase and one fan, and one answer per partner created it
    for partner in (world.partner_a, world.partner_b):
        assert await db.crm_purchases.count_documents({"partner_id": partner}) == 1
        assert await db.fans.count_documents({"partner_id": partner}) == 1
    outcomes = [b["data"]["upsertPurchase"] for b in bodies]
    assert sorted(o["created"] for o in outcomes) == [False] * 14 + [True] * 2
    assert len({o["purchase"]["fanId"] for o in outcomes}) == 2


# --- purchases -------------------------------------------------------------------------


async def test_purchase_search_rejections_and_guards(
    gql: GraphQL, world: World, db: Database
) -> None:
    for variables, field in (
        (search(endDate="2026-02-01"), "endDate"),
        (search(network=""), "network"),
        ({**search(), "first": 501}, "first"),
        ({**search(), "after": "garbage"}, "after"),
    ):
        body = await gql(SEARCH, variables, as_=world.a_analyst)
        assert only_error(body)["extensions"]["field"] == field
    public = await key_persona(db, world.partner_a, "public", ["crm"])
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.a_member, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(SEARCH, search(), as_=persona)) == [code]
    body = await gql(SEARCH, search(), as_=public)
    assert body["data"]["purchases"]["totalCount"] == 0


async def test_purchase_search_filters_pages_and_tenants(
    gql: GraphQL, world: World, db: Database, a_secret: Persona
) -> None:
    # given interleaved purchases of two partners on two networks over March and April
    b_secret = await key_persona(db, world.partner_b, "secret", ["crm"])
    rows = [("a1", a_secret, "shop", "2026-03-01T00:00:00+00:00", "Tour Shirt", "m1", "l1"),
            ("b1", b_secret, "shop", "2026-03-01T01:00:00+00:00", "Tour Shirt", "m1", "l1"),
            ("a2", a_secret, "shop", "2026-03-05T00:00:00+00:00", "Poster", "m2", "l1"),
            ("a3", a_secret, "pos", "2026-03-06T00:00:00+00:00", "Tour Shirt", "m1", "l1"),
            ("a4", a_secret, "shop", "2026-03-31T23:59:59+00:00", "SHIRT (kids)", "m1", "l2"),
            ("a5", a_secret, "shop", "2026-04-01T00:00:00+00:00", "Tour Shirt", "m1", "l1")]
    for key, who, network, at, product, merchant, location in rows:
        body = await gql(UPSERT, {"input": purchase(
            purchaseKey=key, network=network, orderTimestamp=at, productName=product,
            merchantKey=merchant, locationKey=location, email=f"{key}@example.com")}, as_=who)
        assert body["data"]["upsertPurchase"]["created"] is True, body
    # then A's March shop purchases in time order, and B's own
    assert keys(await gql(SEARCH, search(), as_=world.a_analyst)) == ["a1", "a2", "a4"]
    assert keys(await gql(SEARCH, search(), as_=world.b_owner)) == ["b1"]
    # the filters: product name contains (any case, regex characters literal), merchant, location
    assert keys(await gql(SEARCH, search(productName="shirt"), as_=world.a_analyst)) == [
        "a1", "a4"]
    assert keys(await gql(SEARCH, search(productName="t (k"), as_=world.a_analyst)) == ["a4"]
    assert keys(await gql(SEARCH, search(productName=".*"), as_=world.a_analyst)) == []
    assert keys(await gql(SEARCH, search(merchantKey="m2"), as_=world.a_analyst)) == ["a2"]
    assert keys(await gql(SEARCH, search(locationKey="l2"), as_=world.a_analyst)) == ["a4"]
    assert keys(await gql(SEARCH, search(network="pos"), as_=world.a_analyst)) == ["a3"]
    # pages walk every purchase once
    seen: list[str] = []
    after = None
    while True:
        body = await gql(SEARCH, {**search(endDate="2026-04-30"), "first": 2, "after": after},
                         as_=world.a_analyst)  # fmt: skip
        seen += keys(body)
        info = body["data"]["purchases"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == ["a1", "a2", "a4", "a5"]
    # operators see both partners
    body = await gql(SEARCH, search(), as_=world.operator)
    assert body["data"]["purchases"]["totalCount"] == 4


async def test_purchase_search_costs_the_same_commands_for_any_page(
    gql: GraphQL, world: World, db: Database, a_secret: Persona, commands: CommandCounter
) -> None:
    base = datetime(2026, 3, 2, tzinfo=UTC)
    for i in range(25):
        at = (base + timedelta(minutes=i)).isoformat()
        await gql(UPSERT, {"input": purchase(purchaseKey=f"k{i:02d}", orderTimestamp=at,
                                             email=f"b{i}@example.com")}, as_=a_secret)
    counts = []
    for first in (2, 25):
        commands.start()
        body = await gql(SEARCH, {**search(), "first": first}, as_=world.a_owner)
        assert len(keys(body)) == first
        assert all(e["node"]["fan"] for e in body["data"]["purchases"]["edges"])
        assert body["data"]["purchases"]["totalCount"] == 25
        counts.append(commands.total)
    assert counts[0] == counts[1]


PURCHASE_ROWS = st.lists(
    st.fixed_dictionaries({
        "partner": st.sampled_from("AB"), "network": st.sampled_from(["shop", "pos"]),
        "minute": st.integers(0, 60 * 24 * 6), "merchant": st.sampled_from(["m1", "m2"]),
        "product": st.sampled_from(["Shirt", "Poster", "Tour shirt"]),
        "gross": st.integers(0, 10_000), "net_share": st.integers(0, 100),
    }),
    max_size=12,
)  # fmt: skip


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=PURCHASE_ROWS, lo=st.integers(0, 5), span=st.integers(0, 5),
       product=st.none() | st.sampled_from(["shirt", "Poster"]),
       merchant=st.none() | st.just("m1"))  # fmt: skip
async def test_purchase_search_matches_an_oracle(
    gql: GraphQL, world: World, db: Database, rows: list[dict[str, Any]], lo: int, span: int,
    product: str | None, merchant: str | None,
) -> None:  # fmt: skip
    # given generated purchases of both partners, written directly through the API
    await db.crm_purchases.delete_many({})
    start = datetime(2026, 5, 1, tzinfo=UTC)
    for i, row in enumerate(rows):
        at = start + timedelta(minutes=row["minute"])
        partner = world.partner_a if row["partner"] == "A" else world.partner_b
        body = await gql(UPSERT, {"input": purchase(
            purchaseKey=f"k{i}", network=row["network"], orderTimestamp=at.isoformat(),
            merchantKey=row["merchant"], productName=row["product"], email=None,
            grossSaleAmount=row["gross"], netSaleAmount=row["gross"] * row["net_share"] // 100,
            partnerId=partner)}, as_=world.operator)
        assert body["data"]["upsertPurchase"]["created"] is True, body
        row.update(key=f"k{i}", at=at)
    # when A searches one network in a window, all in one page
    lo_day, hi_day = start + timedelta(days=lo), start + timedelta(days=lo + span + 1)
    filter: dict[str, Any] = {"network": "shop", "startDate": lo_day.date().isoformat(),
                              "endDate": (hi_day - timedelta(days=1)).date().isoformat()}
    if product:
        filter["productName"] = product
    if merchant:
        filter["merchantKey"] = merchant
    body = await gql(SEARCH, {"filter": filter, "first": 500}, as_=world.a_analyst)
    # then the keys, order, count and amount sums equal the oracle's
    expected = sorted(
        (r for r in rows if r["partner"] == "A" and r["network"] == "shop"
         and lo_day <= r["at"] < hi_day
         and (product is None or product.lower() in r["product"].lower())
         and (merchant is None or r["merchant"] == merchant)),
        key=lambda r: (r["at"], r["key"]),
    )  # fmt: skip
    got = [e["node"] for e in body["data"]["purchases"]["edges"]]
    assert sorted(n["purchaseKey"] for n in got) == sorted(r["key"] for r in expected)
    moments = {r["key"]: r["at"] for r in rows}
    got_moments = [moments[n["purchaseKey"]] for n in got]
    assert got_moments == sorted(got_moments)  # order time first (ties by id)
    assert body["data"]["purchases"]["totalCount"] == len(expected)
    assert sum(n["grossSaleAmount"] for n in got) == sum(r["gross"] for r in expected)
    assert sum(n["netSaleAmount"] for n in got) == sum(
        r["gross"] * r["net_share"] // 100 for r in expected)


# --- demo ------------------------------------------------------------------------------

DEMO = """
query($lo: Date!, $hi: Date!) {
  purchases(filter: {network: "shop", startDate: $lo, endDate: $hi}, first: 500) {
    totalCount edges { node { deductionAmount fan { id } } }
  }
  all: fanPointAwards(startDate: $lo, endDate: $hi) { totalCount }
  board: fanPointAwards(startDate: $lo, endDate: $hi, leaderboard: true) { totalCount }
}"""


async def test_demo_shows_purchases_and_awarded_points(
    gql: GraphQL, world: World, db: Database, settings: Settings
) -> None:
    # given the CRM demo seed run twice for partner A
    partner = DemoPartner(id=world.partner_a, name="A", index=0)
    await crm.seed(db, partner, DemoSecrets(settings.data_dir))
    await crm.seed(db, partner, DemoSecrets(settings.data_dir))
    # then its purchases (each with a fan, some discounted) and awards are visible once
    today = utcnow().date()
    variables = {"lo": (today - timedelta(days=60)).isoformat(), "hi": today.isoformat()}
    body = await gql(DEMO, variables, as_=world.a_analyst)
    purchases = body["data"]["purchases"]
    assert purchases["totalCount"] == crm.PURCHASES
    assert all(e["node"]["fan"] for e in purchases["edges"])
    assert any(e["node"]["deductionAmount"] > 0 for e in purchases["edges"])
    assert 0 < body["data"]["board"]["totalCount"] < body["data"]["all"]["totalCount"]
