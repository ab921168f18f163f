"""`partnerAnalyticsFilter` (the seed's filter endpoint): the values a dimension takes in
one data source within a range, tenant-scoped, checked against a Python oracle."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database, Document
from loaders import affiliate as data
from loaders.affiliate import dimensions as cat
from loaders.affiliate.impressions import insert_impressions
from tests.affiliate_fixtures import catalogue
from tests.conftest import GraphQL, World, error_codes, only_error
from tests.test_affiliate_analytics_dimensions import BASE, EVENT, build, value_of

FILTER = """
query F($source: AnalyticsSource!, $groupBy: [String!]!, $ranges: [DateRangeInput!],
        $filterBy: [AnalyticsFilterInput!], $orderBy: [AnalyticsOrderInput!], $top: Int,
        $pid: ID, $interval: String) {
  partnerAnalyticsFilter(dataSource: $source, groupBy: $groupBy, dateRanges: $ranges,
                         filterBy: $filterBy, orderBy: $orderBy, top: $top, partnerId: $pid,
                         timezone: "UTC", interval: $interval) {
    totalRowCount
    rows { dimensions { name value label } metrics { name value } }
  }
}"""
KINDS = {"CLICKS": "click", "CONVERSIONS": "conversion", "IMPRESSIONS": "impression"}
SOURCE_DIMS = {
    s: [n for n, d in cat.DIMENSIONS.items() if KINDS[s] + "s" in d.sources] for s in KINDS
}


def day(offset: int) -> str:
    return (BASE + timedelta(days=offset)).date().isoformat()


@st.composite
def request(draw: st.DrawFn) -> tuple[str, str, int, int]:
    source = draw(st.sampled_from(sorted(KINDS)))
    return (source, draw(st.sampled_from(SOURCE_DIMS[source])),
            draw(st.integers(0, 2)), draw(st.integers(0, 2)))  # fmt: skip


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(events=st.lists(EVENT, min_size=1, max_size=14), asked=request())
async def test_filter_values_match_a_python_oracle(
    gql: GraphQL, world: World, db: Database, events: list[dict[str, Any]],
    asked: tuple[str, str, int, int],
) -> None:  # fmt: skip
    # given generated events of partners A and B over three days, interleaved
    for name in ("affiliate_clicks", "affiliate_conversions", "affiliate_impressions"):
        await db[name].delete_many({})
    shop = await catalogue(db)
    stored: dict[tuple[str, str], list[Document]] = defaultdict(list)
    for event in events:
        partner = world.partner_a if event["partner"] == "A" else world.partner_b
        kind, doc = build(event, partner, (shop.open, shop.auto)[event["campaign"]])
        stored[(event["partner"], kind)].append(doc)
    for (_, kind), docs in stored.items():
        if kind == "impression":
            await insert_impressions(db, docs)
        else:
            await db[f"affiliate_{kind}s"].insert_many(docs)
    # when A asks which values one dimension takes in one source over some of those days
    source, dimension, first, span = asked
    start, end = first, min(first + span, 2)
    body = await gql(FILTER, {"source": source, "groupBy": [dimension],
                              "ranges": [{"start": day(start), "end": day(end)}],
                              "interval": "P1D"}, as_=world.a_analyst)  # fmt: skip
    assert "errors" not in body, body
    result = body["data"]["partnerAnalyticsFilter"]
    # then they are exactly the values of A's documents in those days (never B's)
    lo = datetime.combine(BASE.date() + timedelta(days=start), datetime.min.time(), UTC)
    hi = lo + timedelta(days=end - start + 1)
    kind = KINDS[source]
    want = set()
    for doc in stored[("A", kind)]:
        if lo <= doc["occurred_at"] < hi:
            items = doc["items"] if cat.DIMENSIONS[dimension].item else [None]
            want |= {value_of(doc, item, dimension) for item in items}
    got = [r["dimensions"][0]["value"] for r in result["rows"]]
    assert sorted(got) == sorted(want)
    assert result["totalRowCount"] == len(want)
    assert all(r["metrics"] == [] for r in result["rows"])


async def test_filter_orders_by_a_metric_and_shows_it(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given A's clicks: 3 from GB, 1 from US; B's 5 from FR
    shop = await catalogue(db)
    docs = [data.click_doc(world.partner_a, shop.open, BASE, country=c)
            for c in ("GB", "GB", "GB", "US")]  # fmt: skip
    docs += [data.click_doc(world.partner_b, shop.open, BASE, country="FR") for _ in range(5)]
    await db.affiliate_clicks.insert_many(docs)
    ranges = [{"start": day(0), "end": day(0)}]
    # when A asks the countries by clicks, top 1
    body = await gql(FILTER, {"source": "CLICKS", "groupBy": ["country"], "ranges": ranges,
                              "orderBy": [{"field": "total_clicks"}], "top": 1},
                     as_=world.a_analyst)  # fmt: skip
    # then GB comes first with its count, and the total counts both values
    result = body["data"]["partnerAnalyticsFilter"]
    assert result["totalRowCount"] == 2
    assert result["rows"] == [{"dimensions": [{"name": "country", "value": "GB", "label": "GB"}],
                               "metrics": [{"name": "total_clicks", "value": 3}]}]  # fmt: skip
    # and the operator sees B's values for B, B's owner cannot read A's
    body = await gql(FILTER, {"source": "CLICKS", "groupBy": ["country"], "ranges": ranges,
                              "pid": world.partner_b}, as_=world.operator)  # fmt: skip
    assert [r["dimensions"][0]["value"] for r in body["data"]["partnerAnalyticsFilter"]["rows"]
            ] == ["FR"]  # fmt: skip
    body = await gql(FILTER, {"source": "CLICKS", "groupBy": ["country"], "ranges": ranges,
                              "pid": world.partner_a}, as_=world.b_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["data"] is None


async def test_filter_rejections(gql: GraphQL, world: World) -> None:
    ranges = [{"start": day(0), "end": day(0)}]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"source": "CLICKS", "groupBy": []}, "groupBy"),
        ({"source": "IMPRESSIONS", "groupBy": ["country"]}, "groupBy"),
        ({"source": "CLICKS", "groupBy": ["nope"]}, "groupBy"),
        ({"source": "CLICKS", "groupBy": ["device"],
          "orderBy": [{"field": "total_conversions"}]}, "orderBy"),
        ({"source": "CLICKS", "groupBy": ["device"], "top": 0}, "top"),
    ]  # fmt: skip
    for variables, field in cases:
        body = await gql(FILTER, {"ranges": ranges, **variables}, as_=world.a_analyst)
        assert error_codes(body) == ["BAD_USER_INPUT"], variables
        assert only_error(body)["extensions"]["field"] == field, variables
    # a member token has no affiliate scope at all
    body = await gql(FILTER, {"source": "CLICKS", "groupBy": ["device"], "ranges": ranges},
                     as_=world.a_member)  # fmt: skip
    assert error_codes(body) and error_codes(body) != ["BAD_USER_INPUT"]
