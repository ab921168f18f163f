"""Analytics `outputCurrency`: money converted with the exchange rate of each conversion's
day (stored rates, latest on or before that day), checked against a Python oracle over
generated conversions of two tenants."""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database, Document
from loaders import affiliate as data
from loaders.affiliate.rates import rate_doc
from loaders.affiliate.reference import currency_exponent
from tests.affiliate_fixtures import catalogue
from tests.conftest import GraphQL, World, error_codes, only_error

ANALYTICS = """
query A($shape: AnalyticsShape!, $metrics: [String!]!, $groupBy: [String!], $out: String,
        $currency: String) {
  partnerAnalytics(shape: $shape, metrics: $metrics, groupBy: $groupBy, outputCurrency: $out,
                   currency: $currency, timezone: "UTC",
                   dateRanges: [{start: "2025-03-10", end: "2025-03-12"}]) {
    outputCurrency
    rows { dimensions { name value } metrics { name value } }
  }
}"""
BASE = datetime(2025, 3, 10, tzinfo=UTC)
CURRENCIES = ("GBP", "EUR", "USD", "JPY")
MONEY = ["total_order_value", "total_partner_commission", "average_order_value"]

SALE = st.fixed_dictionaries({
    "partner": st.sampled_from("AB"), "currency": st.sampled_from(CURRENCIES),
    "minutes": st.integers(0, 3 * 24 * 60 - 1), "value": st.integers(100, 900_000),
    "commission": st.integers(0, 50_000),
})  # fmt: skip
# Rates on days -1..2 around BASE (day -1 always present, so every day has one on or before).
RATES = st.fixed_dictionaries({
    c: st.fixed_dictionaries({
        -1: st.floats(0.5, 200),
        **{d: st.one_of(st.none(), st.floats(0.5, 200)) for d in (0, 1, 2)},
    })
    for c in ("GBP", "EUR", "JPY")
})  # fmt: skip


def rate_on(rates: dict[str, dict[int, float | None]], currency: str, day: int) -> float:
    if currency == "USD":
        return 1.0
    known = sorted(d for d, v in rates[currency].items() if v is not None)
    return rates[currency][known[bisect.bisect_right(known, day) - 1]]  # type: ignore[return-value]


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(sales=st.lists(SALE, min_size=1, max_size=12), rates=RATES,
       out=st.sampled_from(CURRENCIES))  # fmt: skip
async def test_output_currency_matches_a_python_oracle(
    gql: GraphQL, world: World, db: Database, sales: list[dict[str, Any]],
    rates: dict[str, dict[int, float | None]], out: str,
) -> None:  # fmt: skip
    # given stored daily rates (some days missing) and sales of A and B in four currencies
    await db.affiliate_conversions.delete_many({})
    await db.affiliate_exchange_rates.delete_many({})
    await db.affiliate_exchange_rates.insert_many([
        rate_doc(BASE.date() + timedelta(days=d), c, v)
        for c, by_day in rates.items() for d, v in by_day.items() if v is not None
    ])  # fmt: skip
    shop = await catalogue(db)
    docs: list[Document] = []
    for sale in sales:
        partner = world.partner_a if sale["partner"] == "A" else world.partner_b
        docs.append(data.conversion_doc(
            partner, shop.open, BASE + timedelta(minutes=sale["minutes"]),
            currency=sale["currency"], status="approved",
            items=[{"value": sale["value"], "commission": sale["commission"]}],
        ))  # fmt: skip
    await db.affiliate_conversions.insert_many(docs)
    # when A counts money in `out`, and explodes it by original currency
    count = await gql(ANALYTICS, {"shape": "COUNT", "metrics": MONEY, "out": out},
                      as_=world.a_analyst)  # fmt: skip
    explode = await gql(ANALYTICS, {"shape": "EXPLODE", "metrics": MONEY[:1], "out": out,
                                    "groupBy": ["currency"]}, as_=world.a_analyst)  # fmt: skip
    assert "errors" not in count and "errors" not in explode, (count, explode)
    # then each amount was converted with its own day's rate (B's sales never count)
    mine = [s for s in sales if s["partner"] == "A"]

    def converted(sale: dict[str, Any], key: str) -> float:
        day = sale["minutes"] // (24 * 60)
        major = sale[key] / 10 ** currency_exponent(sale["currency"])
        return major / rate_on(rates, sale["currency"], day) * rate_on(rates, out, day)

    value = sum(converted(s, "value") for s in mine)
    commission = sum(converted(s, "commission") for s in mine)
    result = count["data"]["partnerAnalytics"]
    assert result["outputCurrency"] == out
    got = {m["name"]: m["value"] for m in result["rows"][0]["metrics"]}
    assert got == {
        "total_order_value": pytest.approx(value, rel=1e-9),
        "total_partner_commission": pytest.approx(commission, rel=1e-9, abs=1e-9),
        "average_order_value": pytest.approx(value / len(mine) if mine else 0.0, rel=1e-9),
    }
    by_currency = {r["dimensions"][0]["value"]: r["metrics"][0]["value"]
                   for r in explode["data"]["partnerAnalytics"]["rows"]}  # fmt: skip
    assert by_currency == {
        c: pytest.approx(sum(converted(s, "value") for s in mine if s["currency"] == c))
        for c in {s["currency"] for s in mine}
    }


async def test_output_currency_rejections(gql: GraphQL, world: World, db: Database) -> None:
    # given a EUR sale on a day before any EUR rate is stored
    shop = await catalogue(db)
    await db.affiliate_exchange_rates.insert_one(rate_doc(date(2025, 3, 12), "EUR", 0.9))
    await data.insert_conversion(db, data.conversion_doc(
        world.partner_a, shop.open, BASE, currency="EUR", status="approved",
        items=[{"value": 1000, "commission": 100}],
    ))  # fmt: skip
    # when A converts into GBP (no GBP rate) or EUR (no EUR rate on or before the day)
    for variables in ({"out": "GBP"}, {"out": "USD"}, {"out": "XXX"}):
        body = await gql(ANALYTICS, {"shape": "COUNT", "metrics": MONEY, **variables},
                         as_=world.a_analyst)  # fmt: skip
        # then a clear error names outputCurrency
        assert error_codes(body) == ["BAD_USER_INPUT"], variables
        assert only_error(body)["extensions"]["field"] == "outputCurrency"
    # and the same sale in its own currency needs no rate
    body = await gql(ANALYTICS, {"shape": "COUNT", "metrics": MONEY[:1], "currency": "EUR"},
                     as_=world.a_analyst)  # fmt: skip
    assert body["data"]["partnerAnalytics"]["rows"][0]["metrics"][0]["value"] == 10.0


async def test_currency_filter_and_output_currency_combine(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given rates for the day, and sales of A in EUR and GBP and of B in EUR
    shop = await catalogue(db)
    await db.affiliate_exchange_rates.insert_many(
        [rate_doc(BASE.date(), "EUR", 0.8), rate_doc(BASE.date(), "GBP", 0.5)]
    )
    for partner, currency, value in ((world.partner_a, "EUR", 1000), (world.partner_a, "EUR", 600),
                                     (world.partner_a, "GBP", 700), (world.partner_b, "EUR", 5000)):
        await data.insert_conversion(db, data.conversion_doc(
            partner, shop.open, BASE + timedelta(hours=1), currency=currency, status="approved",
            items=[{"value": value, "commission": 0}],
        ))  # fmt: skip

    async def total(**variables: str) -> Any:
        body = await gql(ANALYTICS, {"shape": "COUNT", "metrics": MONEY[:1], **variables},
                         as_=world.a_analyst)  # fmt: skip
        return body["data"]["partnerAnalytics"]["rows"][0]["metrics"][0]["value"]

    # when A filters on EUR, converts everything into GBP, or both
    # then the filter keeps A's EUR sales as recorded, the conversion converts each amount
    assert await total(currency="EUR") == pytest.approx(16.0)
    assert await total(out="GBP") == pytest.approx(16.0 / 0.8 * 0.5 + 7.0)
    assert await total(currency="EUR", out="GBP") == pytest.approx(16.0 / 0.8 * 0.5)
    # and without either, money metrics are refused (amounts in two currencies)
    body = await gql(ANALYTICS, {"shape": "COUNT", "metrics": MONEY[:1]}, as_=world.a_analyst)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert only_error(body)["extensions"]["field"] == "currency"
