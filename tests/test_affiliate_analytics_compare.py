"""Period-over-period comparison in `partnerAnalytics` (comparePrevious / compareDateRanges):
previous values and percentage changes against a Python oracle over two tenants."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database
from loaders import affiliate as data
from tests.affiliate_fixtures import catalogue
from tests.conftest import GraphQL, World, error_codes, only_error

ANALYTICS = """
query A($shape: AnalyticsShape!, $groupBy: [String!], $previous: Boolean! = false,
        $compare: [DateRangeInput!], $ranges: [DateRangeInput!]) {
  partnerAnalytics(shape: $shape, metrics: ["total_clicks"], groupBy: $groupBy,
                   timezone: "UTC", dateRanges: $ranges, interval: "P1D",
                   comparePrevious: $previous, compareDateRanges: $compare) {
    rows { dimensions { value } metrics { name value previous percentageChange } }
  }
}"""
START = datetime(2025, 3, 10, tzinfo=UTC)  # current period: 10..12 March, previous 7..9
CURRENT = [{"start": "2025-03-10", "end": "2025-03-12"}]
CLICK = st.tuples(st.sampled_from("AB"), st.integers(-3 * 24 * 60, 3 * 24 * 60 - 1),
                  st.sampled_from(["GB", "US", "DE"]))  # fmt: skip


def change(now: float, before: float) -> float | None:
    return (now - before) / before * 100 if before else None


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(clicks=st.lists(CLICK, max_size=20))
async def test_comparison_matches_a_python_oracle(
    gql: GraphQL, world: World, db: Database, clicks: list[tuple[str, int, str]]
) -> None:
    # given clicks of A and B over the previous and the current three days
    await db.affiliate_clicks.delete_many({})
    shop = await catalogue(db)
    partners = {"A": world.partner_a, "B": world.partner_b}
    docs = [data.click_doc(partners[who], shop.open, START + timedelta(minutes=m), country=c)
            for who, m, c in clicks]  # fmt: skip
    if docs:
        await db.affiliate_clicks.insert_many(docs)
    mine = [(m, c) for who, m, c in clicks if who == "A"]
    now = [(m, c) for m, c in mine if m >= 0]
    before = [(m, c) for m, c in mine if m < 0]
    # when A counts, explodes by country and charts days against the previous period
    count = await gql(ANALYTICS, {"shape": "COUNT", "previous": True, "ranges": CURRENT},
                      as_=world.a_analyst)  # fmt: skip
    explode = await gql(ANALYTICS, {"shape": "EXPLODE", "groupBy": ["country"],
                                    "ranges": CURRENT,
                                    "compare": [{"start": "2025-03-07", "end": "2025-03-09"}]},
                        as_=world.a_analyst)  # fmt: skip
    series = await gql(ANALYTICS, {"shape": "TIMESERIES", "previous": True, "ranges": CURRENT},
                       as_=world.a_analyst)  # fmt: skip
    # then every previous value and change is the oracle's (B's clicks never count)
    metric = count["data"]["partnerAnalytics"]["rows"][0]["metrics"][0]
    assert (metric["value"], metric["previous"]) == (len(now), len(before))
    assert metric["percentageChange"] == pytest.approx(change(len(now), len(before)))
    by_now, by_before = Counter(c for _, c in now), Counter(c for _, c in before)
    got = {r["dimensions"][0]["value"]: r["metrics"][0]
           for r in explode["data"]["partnerAnalytics"]["rows"]}  # fmt: skip
    assert set(got) == set(by_now)
    for country, m in got.items():
        assert (m["value"], m["previous"]) == (by_now[country], by_before[country])
        assert m["percentageChange"] == pytest.approx(change(by_now[country], by_before[country]))
    days = series["data"]["partnerAnalytics"]["rows"]
    assert len(days) == 3
    for i, row in enumerate(days):
        m = row["metrics"][0]
        today = sum(1 for t, _ in now if t // 1440 == i)
        then = sum(1 for t, _ in before if t // 1440 == i - 3)
        assert (m["value"], m["previous"]) == (today, then)


async def test_without_comparison_previous_is_null(gql: GraphQL, world: World) -> None:
    body = await gql(ANALYTICS, {"shape": "COUNT", "ranges": CURRENT}, as_=world.a_analyst)
    metric = body["data"]["partnerAnalytics"]["rows"][0]["metrics"][0]
    assert metric == {"name": "total_clicks", "value": 0, "previous": None,
                      "percentageChange": None}  # fmt: skip


async def test_comparison_rejections(gql: GraphQL, world: World) -> None:
    cases: list[dict[str, Any]] = [
        {"previous": True, "compare": [{"start": "2025-03-01", "end": "2025-03-02"}]},
        {"compare": [{"start": "March", "end": "2025-03-02"}]},
        {"compare": [{"start": "2025-03-05", "end": "2025-03-02"}]},
    ]
    for variables in cases:
        body = await gql(ANALYTICS, {"shape": "COUNT", "ranges": CURRENT, **variables},
                         as_=world.a_analyst)  # fmt: skip
        assert error_codes(body) == ["BAD_USER_INPUT"], variables
        assert only_error(body)["extensions"]["field"] == "compareDateRanges", variables
