"""Affiliate analytics: the seed's 16 metrics and 29 dimensions over the three data
sources (clicks, conversions, impressions), checked against a small Python oracle over
generated documents of two tenants; the total row count, intervals, validation, N+1."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database, Document
from loaders import affiliate as data
from loaders.affiliate import dimensions as cat
from loaders.affiliate.impressions import impression_doc, insert_impressions
from tests.affiliate_fixtures import catalogue
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

ANALYTICS = """
query A($shape: AnalyticsShape!, $metrics: [String!]!, $groupBy: [String!],
        $filterBy: [AnalyticsFilterInput!], $ranges: [DateRangeInput!], $interval: String,
        $currency: String, $top: Int, $zerofill: Boolean! = true) {
  partnerAnalytics(shape: $shape, metrics: $metrics, groupBy: $groupBy, filterBy: $filterBy,
                   dateRanges: $ranges, interval: $interval, timezone: "UTC",
                   currency: $currency, top: $top, zerofill: $zerofill) {
    totalRowCount interval
    rows { dimensions { name value label } metrics { name value } dateTime }
  }
}"""

BASE = datetime(2025, 3, 10, tzinfo=UTC)
RANGES = [{"start": "2025-03-09", "end": "2025-03-14"}]
AGENTS = (
    "",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.91 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
)
CLICK_DIMS = [n for n, d in cat.DIMENSIONS.items() if cat.CLICKS in d.sources]
CONVERSION_DIMS = [n for n, d in cat.DIMENSIONS.items() if cat.CONVERSIONS in d.sources]
IMPRESSION_DIMS = [n for n, d in cat.DIMENSIONS.items() if cat.IMPRESSIONS in d.sources]

ITEM = st.fixed_dictionaries({
    "sku": st.sampled_from(["s1", "s2"]), "category": st.sampled_from(["x", "y"]),
    "value": st.integers(100, 5000), "commission": st.integers(0, 500),
    "quantity": st.integers(1, 3),
})  # fmt: skip
EVENT = st.fixed_dictionaries({
    "kind": st.sampled_from(["click", "conversion", "impression"]),
    "partner": st.sampled_from("AB"), "campaign": st.integers(0, 1),
    "minutes": st.integers(0, 3 * 24 * 60 - 1), "country": st.sampled_from(["GB", "US"]),
    "device": st.sampled_from(["desktop", "mobile"]), "agent": st.integers(0, 2),
    "creative": st.integers(0, 2), "cookie": st.sampled_from(["k1", "k2", "k3"]),
    "converted": st.integers(0, 1), "status": st.sampled_from(["approved", "pending", "rejected"]),
    "customer_type": st.sampled_from(["new", "existing"]), "count": st.integers(1, 5),
    "items": st.lists(ITEM, min_size=1, max_size=3),
    "pubref": st.sampled_from(["", "p1"]),
})  # fmt: skip


def dims_of(names: Sequence[str]) -> Any:
    return st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)


def build(event: dict[str, Any], partner: str, campaign: Document) -> tuple[str, Document]:
    moment = BASE + timedelta(minutes=event["minutes"])
    agent = AGENTS[event["agent"]]
    if event["kind"] == "impression":
        return "impression", impression_doc(
            partner, campaign, moment, count=event["count"], creative_id=event["creative"],
            device=event["device"], publisher_reference=event["pubref"], user_agent=agent,
        )  # fmt: skip
    click = data.click_doc(
        partner, campaign, moment, cookie_id=event["cookie"], country=event["country"],
        device=event["device"], publisher_reference=event["pubref"], user_agent=agent,
        creative_id=event["creative"],
    )  # fmt: skip
    click["converted"] = event["converted"]
    if event["kind"] == "click":
        return "click", click
    return "conversion", data.conversion_doc(
        partner, campaign, moment, currency="GBP", status=event["status"], items=event["items"],
        click=click, country=event["country"], device=event["device"],
        publisher_reference=event["pubref"], customer_type=event["customer_type"],
    )  # fmt: skip


# --- the oracle ------------------------------------------------------------------------


def value_of(doc: Document, item: Document | None, name: str) -> str:
    dim = cat.DIMENSIONS[name]
    if name == "date_time":
        day = datetime.fromtimestamp(doc["ts"] / 1000, UTC).date()
        return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()
    source = item if dim.item else doc
    assert source is not None
    return str(source.get(dim.field, ""))


Groups = dict[tuple[str, ...], dict[str, float]]


def oracle(docs: Sequence[Document], kind: str, group_by: Sequence[str],
           metrics: Sequence[str], keep: Any = None) -> Groups:  # fmt: skip
    """Metrics per group, computed from the documents by the seed's definitions."""
    per_item = kind == "conversion" and (
        any(cat.DIMENSIONS[n].item for n in group_by) or keep is not None
    )
    groups: dict[tuple[str, ...], list[tuple[Document, Document | None]]] = defaultdict(list)
    for doc in docs:
        for item in doc["items"] if per_item else [None]:
            if keep is not None and not keep(doc, item):
                continue
            groups[tuple(value_of(doc, item, n) for n in group_by)].append((doc, item))
    pairs = [pair for g in groups.values() for pair in g] if kind == "conversion" else []
    total_value = sum(i["value"] if i else d["value"] for d, i in pairs)
    total_comm = sum(i["commission"] if i else d["commission"] for d, i in pairs)
    out: Groups = {}
    for key, rows in groups.items():
        docs_in = {d["_id"]: d for d, _ in rows}
        if kind == "click":
            n = len(rows)
            conv = sum(d["converted"] for d, _ in rows)
            values: dict[str, float] = {
                "total_clicks": n, "total_clicks_converted": conv,
                "total_unique_clicks": len({d["cookie_id"] for d, _ in rows}),
                "click_conversion_rate": conv / n,
            }  # fmt: skip
        elif kind == "impression":
            values = {"total_impressions": sum(d["count"] for d, _ in rows)}
        else:
            n = len(docs_in)
            items = len(rows) if per_item else sum(len(d["items"]) for d in docs_in.values())
            value = sum(i["value"] if i else d["value"] for d, i in rows)
            comm = sum(i["commission"] if i else d["commission"] for d, i in rows)
            rejected = sum(1 for d in docs_in.values() if d["status"] == "rejected")
            values = {
                "total_conversions": n, "total_conversion_items": items,
                "total_order_value": value / 100, "average_order_value": value / 100 / n,
                "total_partner_commission": comm / 100, "conversion_rejection_rate": rejected / n,
                "average_order_size": items / n, "average_partner_commission": comm / 100 / n,
                "percentage_average_partner_commission": comm / value if value else 0.0,
                "percentage_order_value": value / total_value if total_value else 0.0,
                "percentage_partner_commission": comm / total_comm if total_comm else 0.0,
            }  # fmt: skip
        out[key] = {m: values[m] for m in metrics}
    return out


def result_map(result: dict[str, Any]) -> dict[tuple[str, ...], dict[str, float]]:
    return {
        tuple(d["value"] for d in row["dimensions"]): {
            m["name"]: m["value"] for m in row["metrics"]
        }
        for row in result["rows"]
    }


def approx(expected: dict[tuple[str, ...], dict[str, float]]) -> Any:
    return {k: {m: pytest.approx(v) for m, v in ms.items()} for k, ms in expected.items()}


async def explode(gql: GraphQL, as_: Any, metrics: Sequence[str], group_by: Sequence[str],
                  **variables: Any) -> dict[str, Any]:  # fmt: skip
    body = await gql(ANALYTICS, {"shape": "EXPLODE", "metrics": list(metrics),
                                 "groupBy": list(group_by), "ranges": RANGES,
                                 "interval": "P1D", **variables}, as_=as_)  # fmt: skip
    assert "errors" not in body, body
    return body["data"]["partnerAnalytics"]  # type: ignore[no-any-return]


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    events=st.lists(EVENT, min_size=1, max_size=14),
    click_dims=dims_of(CLICK_DIMS), conversion_dims=dims_of(CONVERSION_DIMS),
    impression_dims=dims_of(IMPRESSION_DIMS), sku_filter=st.sampled_from([None, "s1", "s2"]),
)  # fmt: skip
async def test_every_metric_and_dimension_matches_a_python_oracle(
    gql: GraphQL, world: World, db: Database, events: list[dict[str, Any]],
    click_dims: list[str], conversion_dims: list[str], impression_dims: list[str],
    sku_filter: str | None,
) -> None:  # fmt: skip
    # given generated clicks, conversions and impressions of partners A and B, interleaved
    for name in ("affiliate_clicks", "affiliate_conversions", "affiliate_impressions"):
        await db[name].delete_many({})
    shop = await catalogue(db)
    campaigns = [shop.open, shop.auto]
    stored: dict[tuple[str, str], list[Document]] = defaultdict(list)
    for event in events:
        partner = world.partner_a if event["partner"] == "A" else world.partner_b
        kind, doc = build(event, partner, campaigns[event["campaign"]])
        stored[(event["partner"], kind)].append(doc)
    for (_, kind), docs in stored.items():
        collection = {"click": db.affiliate_clicks, "conversion": db.affiliate_conversions}
        if kind == "impression":
            await insert_impressions(db, docs)
        else:
            await collection[kind].insert_many(docs)
    # when A explodes click metrics, conversion metrics (optionally one sku) and B impressions
    clicks = await explode(gql, world.a_analyst, cat.CLICK_METRICS, click_dims)
    filters = [{"field": "sku", "value": [sku_filter]}] if sku_filter else None
    conversions = await explode(gql, world.a_analyst, cat.CONVERSION_METRICS, conversion_dims,
                                currency="GBP", filterBy=filters)  # fmt: skip
    impressions = await explode(gql, world.b_owner, cat.IMPRESSION_METRICS, impression_dims,
                                top=1)  # fmt: skip
    # then every group and figure equals the oracle's, and no other tenant's row counts
    assert result_map(clicks) == approx(
        oracle(stored[("A", "click")], "click", click_dims, cat.CLICK_METRICS)
    )
    keep = (lambda d, i: i["sku"] == sku_filter) if sku_filter else None
    want = oracle(stored[("A", "conversion")], "conversion", conversion_dims,
                  cat.CONVERSION_METRICS, keep)  # fmt: skip
    assert result_map(conversions) == approx(want)
    assert conversions["totalRowCount"] == len(want)
    want_b = oracle(stored[("B", "impression")], "impression", impression_dims,
                    cat.IMPRESSION_METRICS)  # fmt: skip
    # `top: 1` cuts the rows, the total row count still counts them all
    assert impressions["totalRowCount"] == len(want_b)
    assert len(impressions["rows"]) == min(1, len(want_b))
    for key, values in result_map(impressions).items():
        assert values == want_b[key]


def test_the_catalogue_is_the_seeds() -> None:
    # the seed lists 16 metrics (4 click, 11 conversion, 1 impression) and 29 dimensions
    assert len(cat.METRICS) == 16 == len(set(cat.METRICS))
    assert len(cat.SEED_DIMENSIONS) == 29
    seed_clicks = {"advertiser_reference", "browser_family", "browser_major", "browser_minor",
                   "browser_patch", "campaign", "country", "creative", "date_time", "device",
                   "os_family", "os_major", "os_minor", "os_patch", "partner",
                   "publisher_reference", "partnership_model", "traffic_source", "type",
                   "user_context"}  # fmt: skip
    assert set(CLICK_DIMS) - {"brand"} == seed_clicks
    assert set(IMPRESSION_DIMS) - {"brand"} == seed_clicks - {"country", "type"}
    assert set(CONVERSION_DIMS) - {"brand"} == set(cat.SEED_DIMENSIONS)


def test_user_agents_give_browser_and_os() -> None:
    assert cat.agent_fields(AGENTS[1]) == {
        "browser_family": "Chrome", "browser_major": "124", "browser_minor": "0",
        "browser_patch": "6367", "os_family": "Windows", "os_major": "10", "os_minor": "0",
        "os_patch": "",
    }  # fmt: skip
    ios = cat.agent_fields(AGENTS[2])
    names = ("browser_family", "browser_major", "os_family", "os_major", "os_minor", "os_patch")
    assert tuple(ios[n] for n in names) == ("Safari", "17", "iOS", "17", "4", "1")
    assert cat.agent_fields("curl-ish thing")["browser_family"] == "Other"
    assert set(cat.agent_fields("").values()) == {""}


def when(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(row["dateTime"])


async def test_intervals_quarter_hours_and_years(gql: GraphQL, world: World, db: Database) -> None:
    # given two clicks 20 minutes apart and one a year later
    shop = await catalogue(db)
    moments = [BASE, BASE + timedelta(minutes=20), BASE + timedelta(days=366)]
    await db.affiliate_clicks.insert_many(
        [data.click_doc(world.partner_a, shop.open, m) for m in moments]
    )
    ranges = [{"start": "2025-03-10", "end": "2026-03-12"}]
    # when A asks for quarter-hour buckets (no zero filling) and yearly buckets
    quarter = await gql(ANALYTICS, {"shape": "TIMESERIES", "metrics": ["total_clicks"],
                                    "ranges": ranges, "interval": "PT15M", "zerofill": False},
                        as_=world.a_analyst)  # fmt: skip
    years = await gql(ANALYTICS, {"shape": "TIMESERIES", "metrics": ["total_clicks"],
                                  "ranges": ranges, "interval": "P1Y"},
                      as_=world.a_analyst)  # fmt: skip
    # then the quarters are 00:00 and 00:15 (and 2026), the years 2025 and 2026
    q = quarter["data"]["partnerAnalytics"]
    assert q["interval"] == "PT15M"
    assert [(when(r), r["metrics"][0]["value"]) for r in q["rows"]] == [
        (BASE, 1), (BASE + timedelta(minutes=15), 1), (BASE + timedelta(days=366), 1),
    ]  # fmt: skip
    y = years["data"]["partnerAnalytics"]
    assert [(when(r), r["metrics"][0]["value"]) for r in y["rows"]] == [
        (datetime(2025, 1, 1, tzinfo=UTC), 2), (datetime(2026, 1, 1, tzinfo=UTC), 1),
    ]  # fmt: skip


async def test_dimension_and_filter_rejections(gql: GraphQL, world: World) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"metrics": ["total_impressions"], "groupBy": ["country"]}, "groupBy", "country"),
        ({"metrics": ["total_clicks"], "groupBy": ["sku"]}, "groupBy", "sku"),
        ({"metrics": ["total_clicks"], "groupBy": ["device"],
          "filterBy": [{"field": "creative_id", "value": ["x1"]}]}, "filterBy", "creative_id"),
        ({"metrics": ["total_clicks"], "groupBy": ["device"],
          "filterBy": [{"field": "creative", "value": ["1"], "operator": "CONTAINS"}]},
         "filterBy", "creative"),
        ({"metrics": ["total_impressions"], "groupBy": ["device"],
          "filterBy": [{"field": "currency", "value": ["GBP"]}]}, "filterBy", "currency"),
        ({"metrics": ["percentage_order_value"], "groupBy": ["sku"]}, "currency", ""),
        ({"metrics": ["total_clicks"], "groupBy": ["date_time"], "interval": "P2D"},
         "interval", ""),
    ]  # fmt: skip
    for variables, field, culprit in cases:
        body = await gql(ANALYTICS, {"shape": "EXPLODE", "ranges": RANGES, **variables},
                         as_=world.a_analyst)  # fmt: skip
        error = only_error(body)
        assert error_codes(body) == ["BAD_USER_INPUT"], variables
        assert error["extensions"]["field"] == field, variables
        assert culprit in error["message"], variables


async def test_labels_and_explode_cost_the_same_commands_for_any_row_count(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given A's conversions over two campaigns, with many or few distinct skus
    shop = await catalogue(db)

    async def cost(n: int) -> tuple[int, dict[str, Any]]:
        await db.affiliate_conversions.delete_many({})
        docs = [
            data.conversion_doc(world.partner_a, (shop.open, shop.auto)[i % 2],
                                BASE + timedelta(minutes=i), currency="GBP", status="approved",
                                items=[{"sku": f"s{i}", "value": 100, "commission": 10}])
            for i in range(n)
        ]  # fmt: skip
        await db.affiliate_conversions.insert_many(docs)
        commands.start()
        result = await explode(gql, world.a_analyst, ["total_conversions"],
                               ["campaign", "sku", "partnership_model"])  # fmt: skip
        return commands.total, result

    few, _ = await cost(2)
    many, result = await cost(30)
    # then labels are batched: 30 rows cost what 2 rows cost
    assert result["totalRowCount"] == 30
    assert few == many
    labels = {(d["name"], d["label"]) for r in result["rows"] for d in r["dimensions"]
              if d["name"] != "sku"}  # fmt: skip
    assert labels == {("campaign", shop.open["title"]), ("campaign", shop.auto["title"]),
                      ("partnership_model", "CPA")}  # fmt: skip


async def test_demo_seeds_impressions_once(gql: GraphQL, world: World, db: Database,
                                           tmp_path: Any) -> None:  # fmt: skip
    from gateway.demo import affiliate as demo_affiliate
    from gateway.demo.base import DemoPartner, DemoSecrets

    # given the demo seed run twice for partner A
    partner = DemoPartner(id=world.partner_a, name="Alpha", index=0)
    await demo_affiliate.seed(db, partner, DemoSecrets(tmp_path))
    stored = await db.affiliate_impressions.count_documents({"partner_id": world.partner_a})
    await demo_affiliate.seed(db, partner, DemoSecrets(tmp_path))
    # then impressions were written once, and analytics counts them by creative
    assert stored > 0
    assert stored == await db.affiliate_impressions.count_documents({})
    body = await gql(ANALYTICS, {"shape": "EXPLODE", "metrics": ["total_impressions"],
                                 "groupBy": ["creative"], "ranges": [
                                     {"start": "2000-01-01", "end": "2004-12-31"}]},
                     as_=world.a_analyst)  # fmt: skip
    assert body["data"]["partnerAnalytics"]["rows"] == []
    body = await gql(ANALYTICS, {"shape": "EXPLODE", "metrics": ["total_impressions"],
                                 "groupBy": ["creative"]}, as_=world.a_analyst)  # fmt: skip
    rows = body["data"]["partnerAnalytics"]["rows"]
    # by the numbers of the creatives of the campaigns A is approved on
    approved = [p["campaign_id"] for p in await db.affiliate_participations.find(
        {"partner_id": world.partner_a, "status": "approved"}).to_list(None)]  # fmt: skip
    numbers = {str(c["number"]) for c in await db.affiliate_creatives.find(
        {"campaign_id": {"$in": approved}}).to_list(None)}  # fmt: skip
    assert {r["dimensions"][0]["value"] for r in rows} == numbers and len(numbers) >= 2
    assert all(r["metrics"][0]["value"] > 0 for r in rows)
