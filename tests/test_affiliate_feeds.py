"""The operator's feeds: `recordImpressions` (analytics `total_impressions`) and
`setExchangeRates` (analytics `outputCurrency`): rejections first, then their effect checked
against a Python oracle, tenant by tenant."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from gateway.storage.mongo import Database
from loaders import affiliate as data
from loaders.affiliate import promotion
from loaders.base import utcnow
from tests.affiliate_fixtures import approve, catalogue
from tests.conftest import GraphQL, World, error_codes, only_error

IMPRESSIONS = """
mutation I($rows: [RecordImpressionInput!]!) { recordImpressions(impressions: $rows) }"""
RATES = """
mutation R($rows: [ExchangeRateInput!]!) {
  setExchangeRates(rates: $rows) { day currency perUsd }
}"""
ANALYTICS = """
query A($metrics: [String!]!, $groupBy: [String!], $out: String, $pid: ID) {
  partnerAnalytics(shape: EXPLODE, metrics: $metrics, groupBy: $groupBy, outputCurrency: $out,
                   textDate: "last 7 days", timezone: "UTC", partnerId: $pid) {
    rows { dimensions { value } metrics { value } }
  }
}"""


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


# --- impressions ---------------------------------------------------------------------------


async def test_record_impressions_rejections(gql: GraphQL, world: World, db: Database) -> None:
    # given a campaign A is approved on, one it is not, and a creative of another campaign
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    foreign = await promotion.insert(db, "creative", {
        "campaign_id": cat.auto["_id"], "type": "text", "name": "t", "width": 0, "height": 0,
        "image_url": "", "text": "Go", "active": True})  # fmt: skip
    good = {"partnerId": world.partner_a, "campaignId": cat.open["_id"], "count": 5}
    future = (utcnow() + timedelta(hours=1)).isoformat()
    # when the operator sends bad batches (a bad row among good ones)
    for rows, code, field in (
        ([], "BAD_USER_INPUT", "impressions"),
        ([good] * 501, "BAD_USER_INPUT", "impressions"),
        ([good, {**good, "count": 0}], "BAD_USER_INPUT", "count"),
        ([good, {**good, "count": 1_000_001}], "BAD_USER_INPUT", "count"),
        ([good, {**good, "occurredAt": future}], "BAD_USER_INPUT", "occurredAt"),
        ([good, {**good, "partnerId": "nope"}], "BAD_USER_INPUT", "partnerId"),
        ([good, {**good, "campaignId": cat.auto["_id"]}], "FORBIDDEN", "campaignId"),
        ([good, {**good, "creativeId": foreign["_id"]}], "NOT_FOUND", "creativeId"),
        ([good, {**good, "creativeId": "crv_"}], "BAD_USER_INPUT", "creativeId"),
        ([good, {**good, "userAgent": "x" * 513}], "BAD_USER_INPUT", "userAgent"),
    ):
        body = await gql(IMPRESSIONS, {"rows": rows}, as_=world.operator)
        # then the batch is refused naming the field, and nothing is stored
        assert error_codes(body) == [code] and field_of(body) == field, (field, body)
    # staff, app clients and anonymous callers may not feed impressions at all
    for persona, code in ((world.a_owner, "FORBIDDEN"), (world.a_app, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(IMPRESSIONS, {"rows": [good]}, as_=persona)) == [code]
    assert await db.affiliate_impressions.count_documents({}) == 0


@pytest.mark.parametrize("seed", [1, 2])
async def test_recorded_impressions_count_per_partner_and_creative(
    gql: GraphQL, world: World, db: Database, seed: int
) -> None:
    # given two creatives of a campaign both partners are approved on
    rng = random.Random(seed)
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
    creatives = [await promotion.insert(db, "creative", {
        "campaign_id": cat.open["_id"], "type": "banner", "name": f"b{i}", "width": 1,
        "height": 1, "image_url": "https://cdn.example/b.png", "text": "", "active": True})
        for i in range(2)]  # fmt: skip
    # when the operator records generated impressions of both partners over the last days
    rows: list[dict[str, Any]] = []
    expected: Counter[str] = Counter()
    now = utcnow()
    for _ in range(rng.randint(1, 20)):
        pid = rng.choice((world.partner_a, world.partner_b))
        creative = rng.choice([None, *creatives])
        count = rng.randint(1, 500)
        row = {"partnerId": pid, "campaignId": cat.open["_id"], "count": count,
               "occurredAt": (now - timedelta(days=rng.randint(1, 6),
                                              minutes=rng.randint(0, 600))).isoformat()}
        if creative:
            row["creativeId"] = creative["_id"]
        rows.append(row)
        if pid == world.partner_a:
            expected[str(creative["number"]) if creative else "0"] += count
    body = await gql(IMPRESSIONS, {"rows": rows}, as_=world.operator)
    assert body["data"]["recordImpressions"] == sum(r["count"] for r in rows)
    # then A's impressions by creative are exactly A's rows (B's never count)
    body = await gql(ANALYTICS, {"metrics": ["total_impressions"], "groupBy": ["creative"]},
                     as_=world.a_analyst)  # fmt: skip
    got = {r["dimensions"][0]["value"]: r["metrics"][0]["value"]
           for r in body["data"]["partnerAnalytics"]["rows"]}  # fmt: skip
    assert got == dict(expected)


# --- exchange rates ------------------------------------------------------------------------


async def test_set_exchange_rates_rejections(gql: GraphQL, world: World, db: Database) -> None:
    today = utcnow().date()
    good = {"day": today.isoformat(), "currency": "GBP", "perUsd": 0.79}
    for rows, field in (
        ([], "rates"),
        ([good, {**good, "currency": "USD"}], "currency"),
        ([good, {**good, "currency": "XXXX"}], "currency"),
        ([good, {**good, "day": (today + timedelta(days=1)).isoformat()}], "day"),
        ([good, {**good, "currency": "EUR", "perUsd": 0}], "perUsd"),
        ([good, {**good, "currency": "EUR", "perUsd": -1.0}], "perUsd"),
        ([good, {**good, "currency": "EUR", "perUsd": 1e12}], "perUsd"),
        ([good, dict(good)], "rates"),  # the same currency and day twice
    ):
        body = await gql(RATES, {"rows": rows}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, rows
    body = await gql(RATES, {"rows": [{**good, "day": "2025-02-30"}]}, as_=world.operator)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    for persona, code in ((world.a_owner, "FORBIDDEN"), (world.a_app, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(RATES, {"rows": [good]}, as_=persona)) == [code]
    assert await db.affiliate_exchange_rates.count_documents({}) == 0


async def test_set_rates_drive_output_currency(gql: GraphQL, world: World, db: Database) -> None:
    # given a EUR sale of A two days ago, and no rates
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    sold = utcnow() - timedelta(days=2)
    await data.insert_conversion(db, data.conversion_doc(
        world.partner_a, cat.open, sold, currency="EUR", status="approved",
        items=[{"value": 10_000, "commission": 1000}],
    ))  # fmt: skip
    query = {"metrics": ["total_order_value"], "out": "GBP", "groupBy": ["currency"]}
    body = await gql(ANALYTICS, query, as_=world.a_analyst)
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "outputCurrency"
    # when the operator stores the rates of the day before the sale
    before = (sold - timedelta(days=1)).date().isoformat()
    body = await gql(RATES, {"rows": [{"day": before, "currency": "EUR", "perUsd": 0.8},
                                      {"day": before, "currency": "GBP", "perUsd": 0.5}]},
                     as_=world.operator)  # fmt: skip
    assert body["data"]["setExchangeRates"] == [
        {"day": before, "currency": "EUR", "perUsd": 0.8},
        {"day": before, "currency": "GBP", "perUsd": 0.5},
    ]
    # then the sale converts with them (EUR 100 = USD 125 = GBP 62.50)
    body = await gql(ANALYTICS, query, as_=world.a_analyst)
    assert body["data"]["partnerAnalytics"]["rows"][0]["metrics"][0]["value"] == pytest.approx(
        62.5
    )
    # and a corrected rate for the same day replaces the old one
    await gql(RATES, {"rows": [{"day": before, "currency": "GBP", "perUsd": 0.4}]},
              as_=world.operator)  # fmt: skip
    body = await gql(ANALYTICS, query, as_=world.a_analyst)
    assert body["data"]["partnerAnalytics"]["rows"][0]["metrics"][0]["value"] == pytest.approx(
        50.0
    )
    assert await db.affiliate_exchange_rates.count_documents({}) == 2
