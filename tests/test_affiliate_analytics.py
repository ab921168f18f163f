"""Affiliate analytics (COUNT / EXPLODE / TIMESERIES) on hand-built data with known answers,
the clicks / conversions lists (filters, totals, paging under concurrent inserts) and the
CSV exports."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database, Document
from loaders import affiliate as data
from tests.affiliate_fixtures import Catalogue, approve, catalogue, clicks, conversion
from tests.conftest import GraphQL, World, error_codes, only_error

ANALYTICS = """
query A($shape: AnalyticsShape!, $metrics: [String!]!, $groupBy: [String!],
        $filterBy: [AnalyticsFilterInput!], $ranges: [DateRangeInput!], $textDate: String,
        $interval: String, $tz: String, $currency: String, $orderBy: [AnalyticsOrderInput!],
        $top: Int, $zerofill: Boolean! = true, $pid: ID) {
  partnerAnalytics(shape: $shape, metrics: $metrics, groupBy: $groupBy, filterBy: $filterBy,
                   dateRanges: $ranges, textDate: $textDate, interval: $interval, timezone: $tz,
                   currency: $currency, orderBy: $orderBy, top: $top, zerofill: $zerofill,
                   partnerId: $pid) {
    timezone interval
    rows { dimensions { name value label } metrics { name value } dateTime localDateTime }
  }
}"""
CONVERSIONS = """
query C($first: Int, $after: String, $statuses: [ConversionStatus!], $currencies: [String!],
        $textDate: String, $tz: String, $from: DateTime, $to: DateTime, $pid: ID) {
  conversions(first: $first, after: $after, statuses: $statuses, currencies: $currencies,
              textDate: $textDate, timezone: $tz, from: $from, to: $to, partnerId: $pid) {
    totalCount
    totals { currency conversionCount value partnerCommission payableConversionCount
             payableCommission }
    pageInfo { hasNextPage endCursor }
    edges { node { id status currency value campaign { title } } }
  }
}"""
CLICKS = """
query K($first: Int, $after: String, $textDate: String, $tz: String) {
  clicks(first: $first, after: $after, textDate: $textDate, timezone: $tz) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id country } }
  }
}"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Scenario:
    """Known clicks and conversions of partner A on two campaigns (times in UTC)."""

    cat: Catalogue
    c1: Document
    c2: Document


@pytest.fixture
async def scenario(db: Database, world: World) -> Scenario:
    cat = await catalogue(db)
    c1, c2 = cat.open, cat.auto
    for c in (c1, c2):
        await approve(db, world.partner_a, c)
    # New York is UTC-4 after 2025-03-09; Kolkata is UTC+5:30.
    await clicks(db, world.partner_a, c1, [at("2025-03-10T03:30")], country="GB",
                 device="desktop", cookie_id="k1")  # fmt: skip
    converted = await clicks(db, world.partner_a, c1, [at("2025-03-10T04:30")], country="GB",
                             device="mobile", cookie_id="k1")  # fmt: skip
    await db.affiliate_clicks.update_one({"_id": converted[0]["_id"]}, {"$set": {"converted": 1}})
    await clicks(db, world.partner_a, c2, [at("2025-03-10T12:00")], country="US",
                 device="desktop", cookie_id="k2")  # fmt: skip
    await clicks(db, world.partner_a, c1, [at("2025-03-11T02:00")], country="DE",
                 device="desktop", cookie_id="k3")  # fmt: skip
    await conversion(db, world.partner_a, c1, at("2025-03-10T05:00"), value=10000,
                     commission=1000, quantity=2, country="GB")  # fmt: skip
    await conversion(db, world.partner_a, c2, at("2025-03-10T23:30"), value=5000, commission=500,
                     status="rejected", country="US")  # fmt: skip
    await conversion(db, world.partner_a, c1, at("2025-03-11T01:00"), value=3000, commission=300,
                     currency="EUR", status="pending", country="DE")  # fmt: skip
    # partner B's traffic in the same hours must never show up for A
    other = await catalogue(db, "Other")
    await approve(db, world.partner_b, other.open)
    await clicks(db, world.partner_b, other.open, [at("2025-03-10T03:45")] * 3, country="GB")
    await conversion(db, world.partner_b, other.open, at("2025-03-10T05:00"), value=999_999,
                     commission=99_999, country="GB")  # fmt: skip
    return Scenario(cat, c1, c2)


MARCH = [{"start": "2025-03-09", "end": "2025-03-12"}]


async def analytics(gql: GraphQL, as_: Any, **variables: Any) -> dict[str, Any]:
    body = await gql(ANALYTICS, {"ranges": MARCH, "tz": "UTC", **variables}, as_=as_)
    assert "errors" not in body, body
    return body["data"]["partnerAnalytics"]  # type: ignore[no-any-return]


def metrics(row: dict[str, Any]) -> dict[str, float]:
    return {m["name"]: m["value"] for m in row["metrics"]}


def dims(row: dict[str, Any]) -> dict[str, str]:
    return {d["name"]: d["value"] for d in row["dimensions"]}


async def test_count_metrics(gql: GraphQL, world: World, scenario: Scenario) -> None:
    # when A counts every metric over March 9..12 in GBP
    result = await analytics(gql, world.a_analyst, shape="COUNT", metrics=list(data.METRICS),
                             currency="GBP")  # fmt: skip
    # then the known answers come back, in the requested order
    assert [m["name"] for m in result["rows"][0]["metrics"]] == list(data.METRICS)
    assert metrics(result["rows"][0]) == {
        "total_clicks": 4, "total_unique_clicks": 3, "total_clicks_converted": 1,
        "click_conversion_rate": 0.25, "total_conversions": 2, "total_conversion_items": 2,
        "total_order_value": 150.0, "average_order_value": 75.0,
        "total_partner_commission": 15.0, "conversion_rejection_rate": 0.5,
        "average_order_size": 1.0, "average_partner_commission": 7.5,
        "percentage_average_partner_commission": 0.1, "percentage_order_value": 1.0,
        "percentage_partner_commission": 1.0, "total_impressions": 0,
    }  # fmt: skip


async def test_count_with_no_data_is_zero(gql: GraphQL, world: World, scenario: Scenario) -> None:
    result = await analytics(gql, world.a_owner, shape="COUNT",
                             metrics=["total_clicks", "click_conversion_rate"],
                             ranges=[{"start": "2020-01-01", "end": "2020-01-02"}])  # fmt: skip
    assert metrics(result["rows"][0]) == {"total_clicks": 0, "click_conversion_rate": 0}


async def test_several_ranges_combine_without_double_counting(
    gql: GraphQL, world: World, scenario: Scenario
) -> None:
    ranges = [{"start": "2025-03-10T00:00:00", "end": "2025-03-10T06:00:00"},
              {"start": "2025-03-11T00:00:00", "end": "2025-03-11T03:00:00"},
              {"start": "2025-03-10T03:00:00", "end": "2025-03-10T05:00:00"}]  # fmt: skip
    result = await analytics(gql, world.a_owner, shape="COUNT", metrics=["total_clicks"],
                             ranges=ranges)  # fmt: skip
    assert metrics(result["rows"][0]) == {"total_clicks": 3}


async def test_timeseries_days_follow_the_timezone(
    gql: GraphQL, world: World, scenario: Scenario
) -> None:
    # in UTC: 3 clicks on the 10th, 1 on the 11th, zero-filled around them
    utc = await analytics(gql, world.a_owner, shape="TIMESERIES", metrics=["total_clicks"],
                          interval="P1D")  # fmt: skip
    assert [(r["localDateTime"], metrics(r)["total_clicks"]) for r in utc["rows"]] == [
        ("2025-03-09T00:00:00+00:00", 0), ("2025-03-10T00:00:00+00:00", 3),
        ("2025-03-11T00:00:00+00:00", 1), ("2025-03-12T00:00:00+00:00", 0),
    ]  # fmt: skip
    # in New York the 03:30Z click falls on the 9th and the 02:00Z one on the 10th
    ny = await analytics(gql, world.a_owner, shape="TIMESERIES", metrics=["total_clicks"],
                         interval="P1D", tz="America/New_York")  # fmt: skip
    assert ny["timezone"] == "America/New_York"
    assert [(r["localDateTime"], metrics(r)["total_clicks"]) for r in ny["rows"]] == [
        ("2025-03-09T00:00:00-05:00", 1), ("2025-03-10T00:00:00-04:00", 3),
        ("2025-03-11T00:00:00-04:00", 0), ("2025-03-12T00:00:00-04:00", 0),
    ]  # fmt: skip
    assert ny["rows"][1]["dateTime"] == "2025-03-10T04:00:00.000Z"
    # without zerofill only the buckets with data remain
    sparse = await analytics(gql, world.a_owner, shape="TIMESERIES", metrics=["total_clicks"],
                             interval="P1D", tz="America/New_York", zerofill=False)  # fmt: skip
    assert [metrics(r)["total_clicks"] for r in sparse["rows"]] == [1, 3]


async def test_timeseries_hours_in_a_half_hour_timezone(
    gql: GraphQL, world: World, scenario: Scenario
) -> None:
    # 09:00-11:00 in Kolkata is 03:30-05:30 UTC: one click in each local hour
    result = await analytics(
        gql, world.a_owner, shape="TIMESERIES", metrics=["total_clicks", "total_conversions"],
        interval="PT1H", tz="Asia/Kolkata",
        ranges=[{"start": "2025-03-10T09:00:00", "end": "2025-03-10T11:00:00"}],
    )  # fmt: skip
    assert [(r["localDateTime"], r["dateTime"], metrics(r)) for r in result["rows"]] == [
        ("2025-03-10T09:00:00+05:30", "2025-03-10T03:30:00.000Z",
         {"total_clicks": 1, "total_conversions": 0}),
        ("2025-03-10T10:00:00+05:30", "2025-03-10T04:30:00.000Z",
         {"total_clicks": 1, "total_conversions": 1}),
    ]  # fmt: skip


async def test_timeseries_weeks_and_months(gql: GraphQL, world: World, scenario: Scenario) -> None:
    weekly = await analytics(gql, world.a_owner, shape="TIMESERIES", metrics=["total_clicks"],
                             interval="P1W")  # fmt: skip
    # weeks start on Monday by default: Sun 9th is in the week of 3 March
    assert [(r["localDateTime"][:10], metrics(r)["total_clicks"]) for r in weekly["rows"]] == [
        ("2025-03-03", 0), ("2025-03-10", 4),
    ]  # fmt: skip
    monthly = await analytics(gql, world.a_owner, shape="TIMESERIES", metrics=["total_clicks"],
                              interval="P1M")  # fmt: skip
    assert [(r["localDateTime"][:10], metrics(r)["total_clicks"]) for r in monthly["rows"]] == [
        ("2025-03-01", 4)
    ]


async def test_explode_by_campaign_and_country(
    gql: GraphQL, world: World, scenario: Scenario
) -> None:
    result = await analytics(
        gql, world.a_owner, shape="EXPLODE", metrics=["total_clicks", "total_conversions"],
        groupBy=["campaign", "country"],
        orderBy=[{"field": "total_clicks", "direction": "DESCENDING"}],
    )  # fmt: skip
    rows = [(dims(r)["campaign"], dims(r)["country"], metrics(r)) for r in result["rows"]]
    c1, c2 = scenario.c1["_id"], scenario.c2["_id"]
    assert rows[0] == (c1, "GB", {"total_clicks": 2, "total_conversions": 1})
    assert sorted(rows[1:]) == sorted([
        (c1, "DE", {"total_clicks": 1, "total_conversions": 1}),
        (c2, "US", {"total_clicks": 1, "total_conversions": 1}),
    ])  # fmt: skip
    labels = {d["value"]: d["label"] for r in result["rows"] for d in r["dimensions"]}
    assert labels[c1] == "Acme Open" and labels["GB"] == "GB"
    # top limits the rows
    top = await analytics(gql, world.a_owner, shape="EXPLODE", metrics=["total_clicks"],
                          groupBy=["country"], top=1,
                          orderBy=[{"field": "total_clicks"}])  # fmt: skip
    assert [(dims(r), metrics(r)) for r in top["rows"]] == [({"country": "GB"},
                                                            {"total_clicks": 2})]  # fmt: skip


async def test_explode_money_by_currency_and_by_day(
    gql: GraphQL, world: World, scenario: Scenario
) -> None:
    result = await analytics(
        gql, world.a_owner, shape="EXPLODE", groupBy=["currency"],
        metrics=["total_order_value", "total_partner_commission", "average_order_value"],
        orderBy=[{"field": "currency", "direction": "ASCENDING"}],
    )  # fmt: skip
    assert [(dims(r)["currency"], metrics(r)) for r in result["rows"]] == [
        ("EUR", {"total_order_value": 30.0, "total_partner_commission": 3.0,
                 "average_order_value": 30.0}),
        ("GBP", {"total_order_value": 150.0, "total_partner_commission": 15.0,
                 "average_order_value": 75.0}),
    ]  # fmt: skip
    by_day = await analytics(
        gql, world.a_owner, shape="EXPLODE", groupBy=["date_time", "conversion_status"],
        metrics=["total_conversions"], tz="America/New_York",
        orderBy=[{"field": "date_time", "direction": "ASCENDING"}],
    )  # fmt: skip
    # every conversion is on the 10th in New York; explode does not zero-fill
    assert sorted((dims(r)["date_time"], dims(r)["conversion_status"]) for r in by_day["rows"]) == [
        ("2025-03-10T00:00:00-04:00", "approved"), ("2025-03-10T00:00:00-04:00", "pending"),
        ("2025-03-10T00:00:00-04:00", "rejected"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([{"field": "country", "value": ["GB"], "operator": "NOT_EQUALS"}], 2),
        ([{"field": "country", "value": ["GB"], "not": True}], 2),
        ([{"field": "country", "value": ["GB", "US"], "operator": "IN"}], 3),
        ([{"field": "country", "value": ["g"], "operator": "CONTAINS"}], 2),
        ([{"field": "country", "value": ["g"], "operator": "CONTAINS", "not": True}], 2),
        ([{"field": "device_id", "value": ["desktop"]},
          {"field": "country", "value": ["GB"]}], 1),
    ],
)  # fmt: skip
async def test_filters(
    gql: GraphQL, world: World, scenario: Scenario, filters: list[Any], expected: int
) -> None:
    result = await analytics(gql, world.a_owner, shape="COUNT", metrics=["total_clicks"],
                             filterBy=filters)  # fmt: skip
    assert metrics(result["rows"][0]) == {"total_clicks": expected}


@pytest.mark.parametrize(
    ("variables", "field", "named"),
    [
        ({"metrics": ["total_clicks", "total_bananas"]}, "metrics", "total_bananas"),
        ({"metrics": []}, "metrics", None),
        ({"shape": "EXPLODE", "groupBy": ["planet"]}, "groupBy", "planet"),
        ({"shape": "EXPLODE", "groupBy": ["currency"]}, "groupBy", "currency"),
        ({"groupBy": ["country"]}, "groupBy", None),
        ({"shape": "EXPLODE"}, "groupBy", None),
        ({"filterBy": [{"field": "planet", "value": ["x"]}]}, "filterBy", "planet"),
        ({"filterBy": [{"field": "country", "value": ["x"], "operator": "LIKE"}]}, "filterBy",
         "LIKE"),
        ({"filterBy": [{"field": "country", "value": []}]}, "filterBy", None),
        ({"tz": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
        ({"shape": "TIMESERIES", "interval": "P3D"}, "interval", "P3D"),
        ({"metrics": ["total_order_value"]}, "currency", None),
        ({"metrics": ["total_order_value"], "currency": "XXX"}, "currency", "XXX"),
        ({"ranges": [{"start": "2025-03-10", "end": "2025-03-01"}]}, "dateRanges", None),
        ({"ranges": [{"start": "yesterday", "end": "2025-03-01"}]}, "dateRanges", None),
        ({"ranges": None, "textDate": "the other day"}, "textDate", "the other day"),
        ({"textDate": "today"}, "textDate", None),
        ({"shape": "EXPLODE", "groupBy": ["country"], "orderBy": [{"field": "total_conversions"}]},
         "orderBy", "total_conversions"),
        ({"shape": "EXPLODE", "groupBy": ["country"],
          "orderBy": [{"field": "country", "direction": "UP"}]}, "orderBy", "UP"),
        ({"shape": "EXPLODE", "groupBy": ["country"], "top": 0}, "top", None),
    ],
)  # fmt: skip
async def test_validation_errors_name_the_culprit(
    gql: GraphQL, world: World, variables: dict[str, Any], field: str, named: str | None
) -> None:
    query = {"shape": "COUNT", "metrics": ["total_clicks"], "ranges": MARCH, **variables}
    body = await gql(ANALYTICS, query, as_=world.a_owner)
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    if named is not None:
        assert named in error["message"]


async def test_analytics_tenant_isolation(gql: GraphQL, world: World, scenario: Scenario) -> None:
    # B sees only its own three clicks
    result = await analytics(gql, world.b_owner, shape="COUNT", metrics=["total_clicks"])
    assert metrics(result["rows"][0]) == {"total_clicks": 3}
    # A naming B's partner gets NOT_FOUND and no data
    body = await gql(ANALYTICS, {"shape": "COUNT", "metrics": ["total_clicks"], "ranges": MARCH,
                                 "pid": world.partner_b}, as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"] and body["data"] is None
    # the operator names a partner and sees exactly its data
    result = await analytics(gql, world.operator, shape="COUNT", metrics=["total_clicks"],
                             pid=world.partner_a)  # fmt: skip
    assert metrics(result["rows"][0]) == {"total_clicks": 4}
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.anonymous, "UNAUTHENTICATED")):
        body = await gql(ANALYTICS, {"shape": "COUNT", "metrics": ["total_clicks"]}, as_=persona)
        assert error_codes(body) == [code]


# --- lists ---------------------------------------------------------------------------


async def test_conversions_filters_and_totals(
    gql: GraphQL, world: World, scenario: Scenario
) -> None:
    window = {"from": "2025-03-09T00:00:00+00:00", "to": "2025-03-12T00:00:00+00:00"}
    body = await gql(CONVERSIONS, window, as_=world.a_analyst)
    page = body["data"]["conversions"]
    assert page["totalCount"] == 3
    assert page["totals"] == [
        {"currency": "EUR", "conversionCount": 1, "value": 3000, "partnerCommission": 300,
         "payableConversionCount": 0, "payableCommission": 0},
        {"currency": "GBP", "conversionCount": 2, "value": 15000, "partnerCommission": 1500,
         "payableConversionCount": 1, "payableCommission": 1000},
    ]  # fmt: skip
    # newest first
    assert [e["node"]["value"] for e in page["edges"]] == [3000, 5000, 10000]
    body = await gql(CONVERSIONS, {**window, "statuses": ["APPROVED", "PENDING"],
                                   "currencies": ["gbp"]}, as_=world.a_owner)  # fmt: skip
    assert [e["node"]["value"] for e in body["data"]["conversions"]["edges"]] == [10000]
    for bad, field in (({"currencies": ["XYZ"]}, "currency"), ({"textDate": "someday"}, "textDate"),
                       ({"textDate": "today", **window}, "textDate"),
                       ({"tz": "Nowhere/Land", "textDate": "today"}, "timezone"),
                       ({"from": window["to"], "to": window["from"]}, "to"),
                       ({"after": "garbage"}, "after")):  # fmt: skip
        body = await gql(CONVERSIONS, bad, as_=world.a_owner)
        assert only_error(body)["extensions"]["field"] == field, bad
    body = await gql(CONVERSIONS, {"pid": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]


async def test_text_dates_use_the_timezone(gql: GraphQL, world: World, db: Database) -> None:
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    now = datetime.now(UTC)
    moments = [now - timedelta(days=d, minutes=1) for d in (0, 1, 2, 8, 40)]
    await clicks(db, world.partner_a, cat.open, moments)

    async def count(text: str, tz: str = "UTC") -> int:
        body = await gql(CLICKS, {"textDate": text, "tz": tz}, as_=world.a_owner)
        return body["data"]["clicks"]["totalCount"]  # type: ignore[no-any-return]

    tz = data.validate_timezone("Pacific/Kiritimati")  # UTC+14: local days differ from UTC
    for text in ("today", "yesterday", "last 7 days", "last 30 days", "this month", "last month"):
        lo, hi = data.text_date_range(text, tz, datetime.now(UTC))
        expected = sum(1 for m in moments if lo <= m < hi)
        assert await count(text, "Pacific/Kiritimati") == expected, text
    assert await count("last 90 days") == 4  # today is excluded from "last N days"


async def test_paging_is_stable_under_concurrent_inserts(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given 25 conversions a minute apart
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    base = datetime.now(UTC) - timedelta(days=1)
    originals = {
        (await conversion(db, world.partner_a, cat.open, base - timedelta(minutes=i),
                          value=100 + i, commission=1))["_id"]
        for i in range(25)
    }  # fmt: skip
    seen: list[str] = []
    after = None
    for round_ in range(10):
        body = await gql(CONVERSIONS, {"first": 10, "after": after}, as_=world.a_owner)
        page = body["data"]["conversions"]
        seen += [e["node"]["id"] for e in page["edges"]]
        # when new rows arrive between page fetches: newer ones and one back-dated mid-list
        await conversion(db, world.partner_a, cat.open, datetime.now(UTC), value=1, commission=0)
        await conversion(db, world.partner_a, cat.open, base - timedelta(minutes=12, seconds=30),
                         value=2, commission=0)  # fmt: skip
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert round_ < 9
    # then every original row is seen exactly once
    assert len(seen) == len(set(seen))
    assert originals <= set(seen)


# --- CSV exports ---------------------------------------------------------------------


async def test_csv_exports(
    client: TestClient[Any, Any], world: World, db: Database, scenario: Scenario
) -> None:
    await conversion(db, world.partner_a, scenario.c1, at("2025-03-10T06:00"), value=100,
                     commission=10, conversion_reference="=HYPERLINK(\"http://x\")")  # fmt: skip
    url = "/export/conversions.csv"
    # rejections: anonymous, wrong kind, other tenant, bad input
    assert (await client.get(url)).status == 401
    assert (await client.get(url, headers=world.a_app.headers)).status == 403
    other = await client.get(url, params={"partnerId": world.partner_b},
                             headers=world.a_owner.headers)  # fmt: skip
    assert other.status == 404
    bad = await client.get(url, params={"textDate": "whenever"}, headers=world.a_owner.headers)
    assert bad.status == 400
    # success: quoted headers from the seed, formula-safe cells, only A's rows
    response = await client.get(url, params={"from": "2025-03-01T00:00:00+00:00",
                                             "to": "2025-04-01T00:00:00+00:00"},
                                headers=world.a_analyst.headers)  # fmt: skip
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    text = await response.text()
    first_line = text.split("\r\n")[0]
    assert first_line == ",".join(f'"{c}"' for c in data_columns(conversions=True))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4
    assert {r["publisher_id"] for r in rows} == {world.partner_a}
    assert '\'=HYPERLINK("http://x")' in {r["conversion_reference"] for r in rows}
    newest = rows[0]
    assert newest["value"] == "30.00" and newest["currency"] == "EUR"
    assert newest["campaign_title"] == "Acme Open"
    # clicks export, in New York time
    response = await client.get("/export/clicks.csv", params={"tz": "x", "timezone":
                                "America/New_York"}, headers=world.a_owner.headers)  # fmt: skip
    text = await response.text()
    assert text.split("\r\n")[0] == ",".join(f'"{c}"' for c in data_columns(conversions=False))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4
    assert rows[-1]["set_time"] == "2025-03-09 23:30:00"


def data_columns(conversions: bool) -> list[str]:
    from gateway.http.affiliate_exports import CLICK_COLUMNS, CONVERSION_COLUMNS

    return CONVERSION_COLUMNS if conversions else CLICK_COLUMNS
