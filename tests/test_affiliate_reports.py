"""Affiliate report fields that used to be stand-ins: every CSV column filled from stored
facts, `total_conversion_items` counting items (basket lines) as the seed does, checked
against a Python oracle over generated conversions, and a paused campaign that is not
AVAILABLE."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database
from loaders import affiliate as data
from tests.affiliate_fixtures import approve, catalogue
from tests.conftest import GraphQL, World, error_codes, only_error

RECORD_CLICK = """
mutation Click($input: RecordClickInput!) {
  recordClick(input: $input) {
    id status setIp lastIp lastUsedAt occurredAt referer advertiserReference creativeId
    creativeType
  }
}"""
RECORD_CONVERSION = """
mutation Conv($input: RecordConversionInput!) {
  recordConversion(input: $input) {
    id wasDisputed refererIp sourceReferer creativeId currencyOriginal currencyConversionRate
    itemLineCount itemCount campaign { camref }
  }
}"""
ANALYTICS = """
query A($metrics: [String!]!, $shape: AnalyticsShape!, $groupBy: [String!], $pid: ID) {
  partnerAnalytics(shape: $shape, metrics: $metrics, groupBy: $groupBy, partnerId: $pid,
                   dateRanges: [{start: "2025-01-01", end: "2025-02-01"}], timezone: "UTC",
                   currency: "GBP") {
    rows { dimensions { name value } metrics { name value } }
  }
}"""
CAMPAIGNS = """
query C($pid: ID) {
  campaigns(partnerId: $pid, first: 50) { edges { node { title status participationStatus } } }
}"""
PARTICIPATIONS = "query P($s: [ParticipationStatus!]) { participations(status: $s) { totalCount } }"


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


# --- CSV columns from real data ------------------------------------------------------


async def test_record_rejects_bad_report_facts(gql: GraphQL, world: World, db: Database) -> None:
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    click_in = {"partnerId": world.partner_a, "campaignId": cat.open["_id"]}
    for extra, field in (
        ({"ip": "999.1.1.1"}, "ip"),
        ({"ip": "not-an-ip"}, "ip"),
        ({"referer": "x" * 2049}, "referer"),
        ({"advertiserReference": "bad\x00ref"}, "advertiserReference"),
    ):
        body = await gql(RECORD_CLICK, {"input": {**click_in, **extra}}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    conv_in = {**click_in, "currency": "GBP", "items": [{"value": 100, "commission": 10}]}
    for extra, field in (
        ({"originalCurrency": "XXX1"}, "originalCurrency"),
        ({"originalCurrency": "USD", "conversionRate": 0}, "conversionRate"),
        ({"originalCurrency": "USD", "conversionRate": -1.5}, "conversionRate"),
        ({"conversionRate": 1.2}, "conversionRate"),  # same currency: rate must be 1
    ):
        body = await gql(RECORD_CONVERSION, {"input": {**conv_in, **extra}}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    # staff may not feed the tracker
    body = await gql(RECORD_CONVERSION, {"input": conv_in}, as_=world.a_owner)
    assert error_codes(body) == ["FORBIDDEN"]
    assert await db.affiliate_clicks.count_documents({}) == 0
    assert await db.affiliate_conversions.count_documents({}) == 0


async def test_csv_columns_are_filled_from_stored_facts(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given a click with IP, referer and brand reference, and a converted, disputed sale
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    click = (await gql(RECORD_CLICK, {"input": {
        "partnerId": world.partner_a, "campaignId": cat.open["_id"], "ip": "2001:DB8::1",
        "referer": "https://blog.example/post", "advertiserReference": "ADREF-7",
        "occurredAt": "2025-01-10T10:00:00+00:00", "cookieId": "ck-9", "country": "GB",
    }}, as_=world.operator))["data"]["recordClick"]  # fmt: skip
    assert click["setIp"] == "2001:db8::1" and click["lastIp"] == "2001:db8::1"
    assert click["status"] == "NIBBLED" and click["lastUsedAt"] == click["occurredAt"]
    conv = (await gql(RECORD_CONVERSION, {"input": {
        "partnerId": world.partner_a, "campaignId": cat.open["_id"], "currency": "GBP",
        "clickId": click["id"], "originalCurrency": "usd", "conversionRate": 0.7925,
        "wasDisputed": True, "occurredAt": "2025-01-10T10:05:00+00:00",
        "advertiserReference": "ADV-1", "customerReference": "CUST-1",
        "conversionReference": "ORDER-1", "customerType": "new", "country": "gb",
        "items": [{"value": 1000, "commission": 100}, {"value": 500, "commission": 50}],
    }}, as_=world.operator))["data"]["recordConversion"]  # fmt: skip
    camref = cat.open["camref"]
    assert conv == {
        "id": conv["id"], "wasDisputed": True, "refererIp": "2001:db8::1",
        "sourceReferer": "https://blog.example/post", "creativeId": 0,
        "currencyOriginal": "USD", "currencyConversionRate": 0.7925, "itemLineCount": 2,
        "itemCount": 2, "campaign": {"camref": camref},
    }  # fmt: skip
    # when A exports conversions and clicks
    window = {"from": "2025-01-01T00:00:00+00:00", "to": "2025-02-01T00:00:00+00:00",
              "timezone": "UTC"}  # fmt: skip
    rows = await _csv(client, "/export/conversions.csv", window, world.a_owner.headers)
    # then every column the header promises carries the stored value
    assert len(rows) == 1
    row = rows[0]
    assert [c for c, v in row.items() if v == ""] == []
    assert row["referer_ip"] == "2001:db8::1"
    assert row["source_referer"] == "https://blog.example/post"
    assert (row["creative_type"], row["creative_id"], row["specific_creative_id"]) == (
        "0", "0", "0",
    )  # fmt: skip
    assert row["was_disputed"] == "1" and row["camref"] == camref and len(camref) == 6
    assert (row["currency_original"], row["currency_conversion_rate"]) == ("USD", "0.7925")
    assert row["conversion_lag"] == "300" and row["click_time"] == "10:00:00"
    clicks = await _csv(client, "/export/clicks.csv", window, world.a_owner.headers)
    assert [c for c, v in clicks[0].items() if v == ""] == []
    assert clicks[0]["status"] == "converted"
    assert (clicks[0]["set_ip"], clicks[0]["last_ip"]) == ("2001:db8::1", "2001:db8::1")
    assert clicks[0]["advertiser_reference"] == "ADREF-7"
    assert clicks[0]["last_used"] == clicks[0]["set_time"] == "2025-01-10 10:00:00"
    # and partner B's export sees none of it
    assert await _csv(client, "/export/conversions.csv", window, world.b_owner.headers) == []


async def _csv(
    client: TestClient[Any, Any], url: str, params: dict[str, str], headers: dict[str, str]
) -> list[dict[str, str]]:
    response = await client.get(url, params=params, headers=headers)
    assert response.status == 200, await response.text()
    return list(csv.DictReader(io.StringIO(await response.text())))


# --- total_conversion_items against an oracle ------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_conversion_items_count_basket_lines(
    gql: GraphQL, world: World, db: Database, seed: int
) -> None:
    # given generated conversions of both partners with 1..4 lines of 1..5 units each
    rng = random.Random(seed)
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
        await approve(db, pid, cat.auto)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    expected: Counter[tuple[str, str]] = Counter()
    conversions: Counter[tuple[str, str]] = Counter()
    docs = []
    for i in range(rng.randint(5, 25)):
        pid = rng.choice((world.partner_a, world.partner_b))
        camp = rng.choice((cat.open, cat.auto))
        lines = [
            {"value": rng.randint(100, 900), "commission": 10, "quantity": rng.randint(1, 5)}
            for _ in range(rng.randint(1, 4))
        ]
        docs.append(data.conversion_doc(
            pid, camp, start + timedelta(hours=rng.randint(0, 24 * 30)), currency="GBP",
            status=rng.choice(data.CONVERSION_STATUSES), items=lines,
            conversion_id=f"cnv_gen{seed}-{i:03d}",
        ))  # fmt: skip
        expected[(pid, camp["_id"])] += len(lines)
        conversions[(pid, camp["_id"])] += 1
    await db.affiliate_conversions.insert_many(docs)
    # when A counts items, overall and per campaign
    metrics = ["total_conversion_items", "total_conversions"]
    body = await gql(ANALYTICS, {"shape": "COUNT", "metrics": metrics}, as_=world.a_analyst)
    count = {m["name"]: m["value"] for m in body["data"]["partnerAnalytics"]["rows"][0]["metrics"]}
    body = await gql(ANALYTICS, {"shape": "EXPLODE", "metrics": metrics, "groupBy": ["campaign"]},
                     as_=world.a_analyst)  # fmt: skip
    per = {
        r["dimensions"][0]["value"]: {m["name"]: m["value"] for m in r["metrics"]}
        for r in body["data"]["partnerAnalytics"]["rows"]
    }
    # then the oracle agrees: lines, not units, and only A's
    mine = {c: n for (p, c), n in expected.items() if p == world.partner_a}
    assert count["total_conversion_items"] == sum(mine.values())
    assert count["total_conversions"] == sum(
        n for (p, _), n in conversions.items() if p == world.partner_a
    )
    assert {c: int(v["total_conversion_items"]) for c, v in per.items()} == mine


# --- participation status of a paused campaign ---------------------------------------


async def test_paused_campaign_is_unavailable_not_available(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given an active and a paused campaign, and another paused one A was approved on
    cat = await catalogue(db)
    joined = await catalogue(db, "Joined")
    await db.affiliate_campaigns.update_one(
        {"_id": joined.open["_id"]}, {"$set": {"status": "paused"}}
    )
    await approve(db, world.partner_a, joined.open)
    await db.affiliate_campaigns.update_one({"_id": cat.auto["_id"]}, {"$set": {"status": "ended"}})
    # when A lists campaigns
    body = await gql(CAMPAIGNS, {}, as_=world.a_owner)
    status = {
        e["node"]["title"]: e["node"]["participationStatus"]
        for e in body["data"]["campaigns"]["edges"]
    }
    # then only campaigns that accept partners are AVAILABLE
    assert status["Acme Paused"] == "UNAVAILABLE"
    assert status["Acme Auto"] == "UNAVAILABLE"
    assert status["Acme Open"] == "AVAILABLE"
    assert status["Joined Open"] == "APPROVED"  # a participation shows through the pause
    # and UNAVAILABLE is no participation filter
    body = await gql(PARTICIPATIONS, {"s": ["UNAVAILABLE"]}, as_=world.a_owner)
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "status"


# --- reference filters ---------------------------------------------------------------

BY_REF = """
query R($ref: String, $pub: String) {
  conversions(from: "2025-01-01T00:00:00+00:00", conversionReference: $ref,
              publisherReference: $pub) {
    totalCount edges { node { conversionReference partnerId } }
  }
}"""


async def test_reference_filters_are_exact_and_tenant_scoped(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database
) -> None:
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
    day = datetime(2025, 1, 5, tzinfo=UTC)
    docs = [
        data.conversion_doc(pid, cat.open, day + timedelta(minutes=i), currency="GBP",
                            status="approved", items=[{"value": 100, "commission": 10}],
                            conversion_reference=ref, publisher_reference=pub)
        for i, (pid, ref, pub) in enumerate([
            (world.partner_a, "ORDER-1", "news"), (world.partner_a, "ORDER-10", "news"),
            (world.partner_a, "ORDER-2", "blog"), (world.partner_b, "ORDER-1", "news"),
        ])
    ]  # fmt: skip
    await db.affiliate_conversions.insert_many(docs)
    body = await gql(BY_REF, {"ref": "ORDER-1"}, as_=world.a_analyst)
    assert body["data"]["conversions"]["totalCount"] == 1  # exact, and only A's
    body = await gql(BY_REF, {"pub": "news"}, as_=world.a_analyst)
    assert body["data"]["conversions"]["totalCount"] == 2
    body = await gql(BY_REF, {"ref": "ORDER-1", "pub": "blog"}, as_=world.a_analyst)
    assert body["data"]["conversions"]["totalCount"] == 0
    body = await gql(BY_REF, {"ref": ""}, as_=world.a_analyst)
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "conversionReference"
    rows = await _csv(client, "/export/conversions.csv",
                      {"from": "2025-01-01T00:00:00+00:00", "conversionReference": "ORDER-1"},
                      world.b_owner.headers)  # fmt: skip
    assert [(r["conversion_reference"], r["publisher_id"]) for r in rows] == [
        ("ORDER-1", world.partner_b)
    ]
