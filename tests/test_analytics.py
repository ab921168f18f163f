"""Analytics, dashboard and billing: ranges, day buckets, trends, tenancy and scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.storage.mongo import Database
from loaders.base import utcnow
from tests.conftest import GraphQL, World, error_codes, only_error
from tests.portal_fixtures import given_class, given_member, given_watches

ANALYTICS = """
query A($period: AnalyticsPeriod, $startDate: Date, $endDate: Date) {
  analytics(period: $period, startDate: $startDate, endDate: $endDate) {
    startDate endDate
    watchTimeByDay { date minutes views }
    popularCategories { category minutes views }
    popularClasses { classId title minutes views class { id } }
    totals { watchTimeMinutes classesWatched activeMembers }
  }
}"""
DASHBOARD = """{ dashboard { totalMembers activeMembers totalWatchTimeMinutes totalClassesWatched
  trends { membersChange watchTimeChange } } }"""
BILLING = """
query B($month: Int!, $year: Int!) {
  billing(month: $month, year: $year) {
    month year activeMemberCount members { member { id name } watchMinutes classesWatched }
  }
}"""

MARCH = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"period": "WEEK", "startDate": "2026-03-01", "endDate": "2026-03-02"}, "period"),
        ({"startDate": "2026-03-01"}, "endDate"),
        ({"endDate": "2026-03-01"}, "startDate"),
        ({"startDate": "2026-03-05", "endDate": "2026-03-01"}, "endDate"),
        ({"startDate": "2025-01-01", "endDate": "2026-03-01"}, "startDate"),
    ],
)
async def test_analytics_rejects_bad_ranges(
    gql: GraphQL, world: World, variables: dict[str, Any], field: str
) -> None:
    error = only_error(await gql(ANALYTICS, variables, as_=world.a_analyst))
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_analytics_refuses_malformed_dates_and_other_principals(
    gql: GraphQL, world: World
) -> None:
    body = await gql(ANALYTICS, {"startDate": "2026-13-01", "endDate": "2026-12-01"},
                     as_=world.a_analyst)  # fmt: skip
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(ANALYTICS, {}, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(ANALYTICS, {}, as_=world.a_member)) == ["FORBIDDEN"]
    assert error_codes(await gql(ANALYTICS, {})) == ["UNAUTHENTICATED"]


async def test_analytics_over_explicit_dates(gql: GraphQL, world: World, db: Database) -> None:
    # given events on 10 and 12 March, one outside the range, and another tenant's
    yoga = await given_class(db, world.partner_a, "Flow", "Yoga")
    hiit = await given_class(db, world.partner_a, "Burn", "HIIT")
    ann = await given_member(db, world.partner_a)
    bob = await given_member(db, world.partner_a)
    await given_watches(db, ann, yoga, [30, 20], at=MARCH)
    await given_watches(db, bob, hiit, [15], at=MARCH + timedelta(days=2))
    await given_watches(db, bob, yoga, [5], at=MARCH + timedelta(days=2))
    await given_watches(db, bob, yoga, [500], at=MARCH + timedelta(days=30))
    b_class = await given_class(db, world.partner_b)
    await given_watches(db, await given_member(db, world.partner_b), b_class, [99], at=MARCH)
    # when
    body = await gql(ANALYTICS, {"startDate": "2026-03-09", "endDate": "2026-03-12"},
                     as_=world.a_analyst)  # fmt: skip
    # then
    out = body["data"]["analytics"]
    assert out["watchTimeByDay"] == [
        {"date": "2026-03-09", "minutes": 0, "views": 0},
        {"date": "2026-03-10", "minutes": 50, "views": 2},
        {"date": "2026-03-11", "minutes": 0, "views": 0},
        {"date": "2026-03-12", "minutes": 20, "views": 2},
    ]
    assert out["popularCategories"] == [
        {"category": "Yoga", "minutes": 55, "views": 3},
        {"category": "HIIT", "minutes": 15, "views": 1},
    ]
    assert [(c["title"], c["minutes"], c["class"]["id"]) for c in out["popularClasses"]] == [
        ("Flow", 55, yoga["_id"]), ("Burn", 15, hiit["_id"])
    ]  # fmt: skip
    assert out["totals"] == {"watchTimeMinutes": 70, "classesWatched": 4, "activeMembers": 2}


async def test_analytics_period_ends_today(gql: GraphQL, world: World, db: Database) -> None:
    klass = await given_class(db, world.partner_a)
    member = await given_member(db, world.partner_a)
    await given_watches(db, member, klass, [10])
    await given_watches(db, member, klass, [40], at=utcnow() - timedelta(days=10))
    week = (await gql(ANALYTICS, {"period": "WEEK"}, as_=world.a_owner))["data"]["analytics"]
    assert len(week["watchTimeByDay"]) == 7
    assert week["endDate"] == utcnow().date().isoformat()
    assert week["totals"]["watchTimeMinutes"] == 10
    month = (await gql(ANALYTICS, {}, as_=world.a_owner))["data"]["analytics"]
    assert len(month["watchTimeByDay"]) == 30
    assert month["totals"]["watchTimeMinutes"] == 50


async def test_dashboard_totals_and_trends(gql: GraphQL, world: World, db: Database) -> None:
    # given 3 members joined in the last 30 days, 2 in the 30 before; 100 vs 200 minutes
    now = utcnow()
    klass = await given_class(db, world.partner_a)
    recent = [await given_member(db, world.partner_a, created_at=now - timedelta(days=d))
              for d in (1, 5, 20)]  # fmt: skip
    for d in (35, 50):
        await given_member(db, world.partner_a, created_at=now - timedelta(days=d))
    await given_watches(db, recent[0], klass, [60, 40])
    await given_watches(db, recent[1], klass, [200], at=now - timedelta(days=40))
    await given_member(db, world.partner_b)
    # when
    body = await gql(DASHBOARD, as_=world.a_analyst)
    # then
    assert body["data"]["dashboard"] == {
        "totalMembers": 5, "activeMembers": 1, "totalWatchTimeMinutes": 300,
        "totalClassesWatched": 3,
        "trends": {"membersChange": "+50%", "watchTimeChange": "-50%"},
    }  # fmt: skip
    assert error_codes(await gql(DASHBOARD, as_=world.a_app)) == ["FORBIDDEN"]


async def test_billing_rejections_then_report(gql: GraphQL, world: World, db: Database) -> None:
    # given
    klass = await given_class(db, world.partner_a)
    zed = await given_member(db, world.partner_a, name="Zed")
    amy = await given_member(db, world.partner_a, name="Amy")
    await given_member(db, world.partner_a, name="Idle")
    await given_watches(db, zed, klass, [10], at=MARCH)
    await given_watches(db, amy, klass, [20, 25], at=MARCH)
    await given_watches(db, amy, klass, [99], at=datetime(2026, 4, 1, 1, tzinfo=UTC))
    # rejections
    for variables, field in [({"month": 0, "year": 2026}, "month"),
                             ({"month": 13, "year": 2026}, "month"),
                             ({"month": 3, "year": 1999}, "year")]:  # fmt: skip
        error = only_error(await gql(BILLING, variables, as_=world.a_owner))
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    march = {"month": 3, "year": 2026}
    assert error_codes(await gql(BILLING, march, as_=world.a_manager)) == ["FORBIDDEN"]
    assert error_codes(await gql(BILLING, march, as_=world.a_analyst)) == ["FORBIDDEN"]
    assert error_codes(await gql(BILLING, march, as_=world.a_app)) == ["FORBIDDEN"]
    # then
    report = (await gql(BILLING, march, as_=world.a_owner))["data"]["billing"]
    assert report["activeMemberCount"] == 2
    assert [(m["member"]["name"], m["watchMinutes"], m["classesWatched"])
            for m in report["members"]] == [("Amy", 45, 2), ("Zed", 10, 1)]  # fmt: skip
    other = (await gql(BILLING, march, as_=world.b_owner))["data"]["billing"]
    assert other["activeMemberCount"] == 0
