"""Two tenants everywhere: partners A and B own interleaved data in every collection and
every date range (the demo seed, run for both); every list and aggregate root field asked
as A answers exactly what it answers once all of B's data is deleted, and names none of B's
ids.

This is the test that would have caught the `$match` leak (`{partner_id, $or}` read as
`(partner_id AND A) OR B` on the embedded store).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLList, GraphQLNonNull, get_named_type

from gateway.demo import SEEDERS
from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders import affiliate
from loaders.affiliate import dimensions
from tests.conftest import GraphQL, Persona, World
from tests.selections import root_type, sdl_schema, selection

DEPTH = 3
TODAY = datetime.now(UTC).date()


@dataclass(frozen=True)
class Root:
    """One list/aggregate root field and the arguments it is asked with."""

    name: str
    arguments: str = ""


def roots(point_name: str) -> list[Root]:
    month, year = TODAY.month, TODAY.year
    metrics = json.dumps(list(affiliate.METRICS))
    # impressions have no country: the by-country shape asks the click and conversion metrics
    impressions = set(dimensions.IMPRESSION_METRICS)
    event_metrics = json.dumps([m for m in affiliate.METRICS if m not in impressions])
    # two ranges with a gap: the shape whose `$or` leaked other tenants' rows
    days = [(TODAY - timedelta(days=n)).isoformat() for n in (400, 31, 29)]
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    year_ago = (TODAY - timedelta(days=364)).isoformat()  # the longest window points allow
    wide = (f'[{{start: "{days[0]}", end: "{days[1]}"}}, '
            f'{{start: "{days[2]}", end: "{tomorrow}"}}]')  # fmt: skip
    return [
        Root("activations", "first: 100"),
        Root("campaigns", "first: 100"),
        Root("participations", "first: 100"),
        Root("trackingLinks", "first: 100"),
        Root("conversions", "first: 100"),
        Root("clicks", "first: 100"),
        *(
            Root("partnerAnalytics", f"shape: {shape}, metrics: {asked}, "
                 f"dateRanges: {wide}, zerofill: false{extra}")
            for shape, asked, extra in (
                ("COUNT", metrics, ', currency: "GBP"'),
                ("EXPLODE", event_metrics, ', groupBy: ["campaign", "country"], currency: "GBP"'),
                ("TIMESERIES", metrics, ', interval: "P1M", currency: "GBP"'),
                ("COUNT", metrics, ', currency: "EUR"'),
            )
        ),
        Root("vouchers", "first: 100"),
        Root("voucherStats"),
        Root("members", "first: 100, sort: NAME"),
        Root("classes", "first: 100"),
        Root("analytics", "period: QUARTER"),
        Root("dashboard"),
        Root("billing", f"month: {month}, year: {year}"),
        Root("products", "first: 50, sort: NEWEST"),
        Root("productTypes"),
        Root("contentStrings"),
        Root("fans", "first: 100"),
        Root("activities", "first: 100"),
        Root("tickets", "first: 100"),
        Root("ticketStats", f'minPurchaseDate: "2020-01-01", maxPurchaseDate: "{TODAY}", '
                            "eventSpecific: false"),
        Root("ticketEvents", "first: 100"),
        Root("leaderboard", f'pointName: "{point_name}", first: 100'),
        # affiliate money, terms, invitations, feeds, reports, partner records
        Root("commissionGroups", "first: 100"),
        Root("selfBills", "first: 100"),
        Root("paymentDetails", "first: 100"),
        Root("balanceSummary"),
        Root("availableCommission"),
        Root("termsAcknowledgements", "first: 100"),
        Root("campaignInvitations", "first: 100"),
        Root("productFeeds", "first: 100"),
        Root("partnerBrands", "first: 100"),
        Root("transactionQueries", "first: 100"),
        Root("conversionItems", "first: 100"),
        Root("partnerDatabases", "first: 100"),
        Root("partnerTags", "first: 100"),
        Root("partnerAnalyticsFilter", f'dataSource: CONVERSIONS, groupBy: ["campaign"], '
                                       f"dateRanges: {wide}"),
        # CRM sync, campaigns, points, purchases, segments, keys
        Root("activityCounters"),
        Root("crmCampaigns", "first: 100"),
        Root("crmApiKeys", "first: 100"),
        Root("fanPointAwards", f'startDate: "{year_ago}", endDate: "{tomorrow}", '
                               "leaderboard: false, first: 100"),
        Root("purchases", f'filter: {{network: "shop", startDate: "2020-01-01", '
                          f'endDate: "{tomorrow}"}}, first: 100'),
        Root("segments", "first: 100"),
        Root("updatedFans", "first: 100"),
        Root("ticketSync", "order: ASC, first: 100"),
        Root("fanTags", "first: 100"),
    ]  # fmt: skip


# Query roots that return a list or a connection but are not one tenant's data, or need an id
# of one object (their guards and tenancy are tested where they live).
NOT_LISTED = {
    "campaignTerms": "network-wide terms of the brands' campaigns",
    "partnerTagFeatures": "the feature catalogue, the same for every partner",
    "exchangeRates": "network-wide rates",
    "crmCampaignLeaderboard": "one campaign's board (tests/test_crm_campaigns.py)",
    "segmentFans": "one segment's fans (tests/test_crm_segments.py)",
}


def test_every_list_root_is_asked_of_both_tenants() -> None:
    # A new list root must join `roots()` (or say here why it is not one tenant's data).
    query_type = sdl_schema().query_type
    assert query_type is not None
    lists = set()
    for name, field in query_type.fields.items():
        field_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if isinstance(field_type, GraphQLList) or get_named_type(field_type).name.endswith(
            "Connection"
        ):
            lists.add(name)
    asked = {root.name for root in roots("any")}
    assert sorted(lists - asked - set(NOT_LISTED)) == []
    assert sorted(set(NOT_LISTED) - lists) == []


def query(root: Root) -> str:
    arguments = f"({root.arguments})" if root.arguments else ""
    return f"query {{ {root.name}{arguments} {{ {selection(root_type(root.name), DEPTH)} }} }}"


@pytest.fixture
async def seeded(db: Database, settings: Settings, world: World) -> dict[str, set[str]]:
    """The demo data for A and for B; B's document ids per collection."""
    demo = DemoSecrets(settings.data_dir)
    for index, partner_id in enumerate((world.partner_a, world.partner_b)):
        partner = DemoPartner(id=partner_id, name=f"Tenant {index}", index=index)
        for seeder in SEEDERS:
            await seeder(db, partner, demo)
    owned: dict[str, set[str]] = {}
    for name in await db.list_collection_names():
        # `find`, not `distinct`: the embedded store's distinct fails on `_id` (see README)
        rows = await db[name].find({"partner_id": world.partner_b}, {"_id": 1}).to_list(None)
        ids = [row["_id"] for row in rows]
        if ids:
            owned[name] = {str(i) for i in ids}
    return owned


async def answers(gql: GraphQL, asked: list[Root], persona: Persona) -> dict[Root, Any]:
    out: dict[Root, Any] = {}
    errors: dict[str, Any] = {}
    for root in asked:
        body = await gql(query(root), as_=persona)
        if "errors" in body:
            errors[root.name] = body["errors"]
        else:
            out[root] = body["data"][root.name]
    assert errors == {}
    return out


async def test_partner_a_never_sees_partner_b(
    gql: GraphQL, db: Database, world: World, seeded: dict[str, set[str]]
) -> None:
    # given both tenants' data, and A's answers to every list/aggregate root
    point = await db.fan_point_awards.find_one({"partner_id": world.partner_a})
    assert point is not None, "the demo seed awards points"
    asked = roots(point["point_name"])
    before = await answers(gql, asked, world.a_owner)
    empty = [r.name for r, data in before.items() if isinstance(data, dict) and "edges" in data
             and not data["edges"]]  # fmt: skip
    assert empty == [], "the seed should give every list rows"
    # then A's answers name none of B's ids
    b_ids = set().union(*seeded.values())
    for root, data in before.items():
        text = json.dumps(data)
        leaked = sorted(i for i in b_ids if len(i) > 6 and i in text)
        assert leaked == [], (root.name, leaked[:5])
    # when all of B's data is deleted
    for name in seeded:
        await db[name].delete_many({"partner_id": world.partner_b})
    # then every answer of A is unchanged: no count or figure included B's data
    after = await answers(gql, asked, world.a_owner)
    changed = [root.name for root in asked if after[root] != before[root]]
    assert changed == []


async def test_the_seed_gives_both_tenants_data_in_every_domain(
    db: Database, world: World, seeded: dict[str, set[str]]
) -> None:
    for name in ("affiliate_clicks", "affiliate_conversions", "vouchers", "members",
                 "watch_events", "products", "fans", "tickets", "fan_activities",
                 "fan_point_awards", "activations"):  # fmt: skip
        assert await db[name].count_documents({"partner_id": world.partner_a}) > 0, name
        assert name in seeded, name
