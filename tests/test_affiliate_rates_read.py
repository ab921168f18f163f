"""Reading the stored exchange rates (`exchangeRates`, what analytics `outputCurrency`
converts with): rejections first, then the range and currency filters against the rows
stored; staff read, credentials without affiliate:read are refused."""

from __future__ import annotations

from datetime import date, timedelta

from gateway.storage.mongo import Database
from loaders.affiliate.rates import rate_doc
from tests.conftest import GraphQL, World, error_codes, only_error

RATES = """
query R($from: Date!, $to: Date!, $currencies: [String!]) {
  exchangeRates(from: $from, to: $to, currencies: $currencies) { day currency perUsd }
}"""


async def test_exchange_rates_rejections(gql: GraphQL, world: World) -> None:
    for variables, field in (
        ({"from": "2025-03-10", "to": "2025-03-09"}, "to"),
        ({"from": "2024-01-01", "to": "2025-01-01"}, "to"),
        ({"from": "2025-03-01", "to": "2025-03-09", "currencies": ["XXX"]}, "currencies"),
        ({"from": "2025-03-01", "to": "2025-03-09", "currencies": ["EUR"] * 51}, "currencies"),
    ):
        body = await gql(RATES, variables, as_=world.a_analyst)
        assert error_codes(body) == ["BAD_USER_INPUT"], variables
        assert only_error(body)["extensions"]["field"] in (field, "currency"), variables
    window = {"from": "2025-03-01", "to": "2025-03-09"}
    assert error_codes(await gql(RATES, window, as_=world.anonymous)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(RATES, window, as_=world.a_member)) == ["FORBIDDEN"]


async def test_exchange_rates_read_by_range_and_currency(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given EUR and GBP rates over ten days
    start = date(2025, 3, 1)
    docs = [rate_doc(start + timedelta(days=i), cur, base + i / 100)
            for i in range(10) for cur, base in (("EUR", 0.9), ("GBP", 0.8))]  # fmt: skip
    await db.affiliate_exchange_rates.insert_many(docs)
    # when staff of A and the operator read days 3..5
    window = {"from": "2025-03-03", "to": "2025-03-05"}
    for persona in (world.a_analyst, world.b_owner, world.operator):
        body = await gql(RATES, window, as_=persona)
        # then both currencies' rates of those days, by currency then day
        assert body["data"]["exchangeRates"] == [
            {"day": d["day"], "currency": d["currency"], "perUsd": d["per_usd"]}
            for d in sorted(docs, key=lambda d: (d["currency"], d["day"]))
            if "2025-03-03" <= d["day"] <= "2025-03-05"
        ]
    only_gbp = await gql(RATES, {**window, "currencies": ["GBP"]}, as_=world.a_analyst)
    assert [r["currency"] for r in only_gbp["data"]["exchangeRates"]] == ["GBP"] * 3
    none = await gql(RATES, {"from": "2025-04-01", "to": "2025-04-02"}, as_=world.a_analyst)
    assert none["data"]["exchangeRates"] == []
