"""Differential tests: computed figures against a small pure-Python oracle.

Hypothesis generates documents for two tenants (interleaved in time) and random filters;
each example stores them through the real driver, asks the gateway over HTTP as tenant A,
and compares with the oracle computed over A's documents only. Example counts are kept
small so the module runs in about a minute.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database, Document
from loaders import affiliate
from loaders.base import utcnow
from tests.affiliate_fixtures import approve, catalogue
from tests.conftest import GraphQL, World

EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # every example is real HTTP + store round trips: a failure is reported unshrunk-ish
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    print_blob=True,
)
BASE = datetime(2025, 3, 1, tzinfo=UTC)
HOURS = 24 * 6
COUNTRIES = ("GB", "US", "DE")
TENANTS = ("A", "B")

ANALYTICS = """
query A($shape: AnalyticsShape!, $metrics: [String!]!, $groupBy: [String!],
        $filterBy: [AnalyticsFilterInput!], $ranges: [DateRangeInput!], $interval: String,
        $currency: String) {
  partnerAnalytics(shape: $shape, metrics: $metrics, groupBy: $groupBy, filterBy: $filterBy,
                   dateRanges: $ranges, interval: $interval, timezone: "UTC", currency: $currency,
                   zerofill: false) {
    rows { dimensions { name value } metrics { name value } dateTime }
  }
}"""
VOUCHER_STATS = "query { voucherStats { total active redeemed expired revoked } }"
LEADERBOARD = """
query L($point: String!, $start: Date, $end: Date, $first: Int) {
  leaderboard(pointName: $point, startDate: $start, endDate: $end, first: $first) {
    rank fanId points
  }
}"""
BILLING = """
query B($month: Int!, $year: Int!) {
  billing(month: $month, year: $year) {
    activeMemberCount members { member { id } watchMinutes classesWatched }
  }
}"""
PORTAL_ANALYTICS = """
query P($start: Date, $end: Date) {
  analytics(startDate: $start, endDate: $end) {
    watchTimeByDay { date minutes views }
    popularCategories { category minutes views }
    totals { watchTimeMinutes classesWatched activeMembers }
  }
}"""
CLICK_METRICS = ["total_clicks", "total_unique_clicks", "total_clicks_converted"]


@dataclass(frozen=True)
class Click:
    tenant: str
    hour: int
    minute: int
    country: str
    cookie: str
    converted: int

    @property
    def at(self) -> datetime:
        return BASE + timedelta(hours=self.hour, minutes=self.minute)


clicks_strategy = st.lists(
    st.builds(
        Click,
        tenant=st.sampled_from(TENANTS),
        hour=st.integers(0, HOURS - 1),
        minute=st.integers(0, 59),
        country=st.sampled_from(COUNTRIES),
        cookie=st.sampled_from(["k1", "k2", "k3", "k4"]),
        converted=st.integers(0, 1),
    ),
    max_size=40,
)
ranges_strategy = st.lists(
    st.tuples(st.integers(0, HOURS - 1), st.integers(1, 48)), min_size=1, max_size=3
)
country_filter = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["IN", "NOT_IN"]), st.sets(st.sampled_from(COUNTRIES), min_size=1)),
)


def in_ranges(at: datetime, ranges: list[tuple[int, int]]) -> bool:
    return any(BASE + timedelta(hours=s) <= at < BASE + timedelta(hours=s + n) for s, n in ranges)


def passes(click: Click, condition: tuple[str, set[str]] | None) -> bool:
    if condition is None:
        return True
    operator, values = condition
    return (click.country in values) == (operator == "IN")


def click_figures(clicks: list[Click]) -> dict[str, float]:
    return {
        "total_clicks": len(clicks),
        "total_unique_clicks": len({c.cookie for c in clicks}),
        "total_clicks_converted": sum(c.converted for c in clicks),
    }


@pytest.fixture
async def campaign(db: Database, world: World) -> Document:
    cat = await catalogue(db)
    for partner_id in (world.partner_a, world.partner_b):
        await approve(db, partner_id, cat.open)
    return cat.open


async def store_clicks(db: Database, world: World, campaign: Document, clicks: list[Click]) -> None:
    await db.affiliate_clicks.delete_many({})
    partner = {"A": world.partner_a, "B": world.partner_b}
    docs = []
    for c in clicks:
        doc = affiliate.click_doc(partner[c.tenant], campaign, c.at, country=c.country,
                                  cookie_id=c.cookie)  # fmt: skip
        doc["converted"] = c.converted
        docs.append(doc)
    if docs:
        await db.affiliate_clicks.insert_many(docs)


def date_ranges(ranges: list[tuple[int, int]]) -> list[dict[str, str]]:
    def iso(hour: int) -> str:
        return (BASE + timedelta(hours=hour)).isoformat()

    return [{"start": iso(s), "end": iso(s + n)} for s, n in ranges]


def filter_by(condition: tuple[str, set[str]] | None) -> list[dict[str, Any]] | None:
    if condition is None:
        return None
    operator, values = condition
    return [{"field": "country", "operator": operator, "value": sorted(values)}]


async def analytics(gql: GraphQL, world: World, **variables: Any) -> list[dict[str, Any]]:
    body = await gql(ANALYTICS, variables, as_=world.a_analyst)
    assert "errors" not in body, body
    return body["data"]["partnerAnalytics"]["rows"]  # type: ignore[no-any-return]


def metrics_of(row: dict[str, Any]) -> dict[str, float]:
    return {m["name"]: m["value"] for m in row["metrics"]}


# --- affiliate analytics -------------------------------------------------------------------


@EXAMPLES
@given(clicks=clicks_strategy, ranges=ranges_strategy, condition=country_filter)
async def test_analytics_count_matches_the_oracle(
    gql: GraphQL, db: Database, world: World, campaign: Document,
    clicks: list[Click], ranges: list[tuple[int, int]], condition: tuple[str, set[str]] | None,
) -> None:  # fmt: skip
    await store_clicks(db, world, campaign, clicks)
    rows = await analytics(gql, world, shape="COUNT", metrics=CLICK_METRICS,
                           ranges=date_ranges(ranges), filterBy=filter_by(condition))  # fmt: skip
    mine = [
        c for c in clicks if c.tenant == "A" and in_ranges(c.at, ranges) and passes(c, condition)
    ]
    assert [metrics_of(r) for r in rows] == [click_figures(mine)]


@EXAMPLES
@given(clicks=clicks_strategy, ranges=ranges_strategy)
async def test_analytics_explode_by_country_matches_the_oracle(
    gql: GraphQL, db: Database, world: World, campaign: Document,
    clicks: list[Click], ranges: list[tuple[int, int]],
) -> None:  # fmt: skip
    await store_clicks(db, world, campaign, clicks)
    rows = await analytics(gql, world, shape="EXPLODE", metrics=CLICK_METRICS,
                           groupBy=["country"], ranges=date_ranges(ranges))  # fmt: skip
    got = {r["dimensions"][0]["value"]: metrics_of(r) for r in rows}
    groups: dict[str, list[Click]] = defaultdict(list)
    for c in clicks:
        if c.tenant == "A" and in_ranges(c.at, ranges):
            groups[c.country].append(c)
    assert got == {country: click_figures(group) for country, group in groups.items()}


@EXAMPLES
@given(clicks=clicks_strategy, ranges=ranges_strategy)
async def test_analytics_daily_timeseries_matches_the_oracle(
    gql: GraphQL, db: Database, world: World, campaign: Document,
    clicks: list[Click], ranges: list[tuple[int, int]],
) -> None:  # fmt: skip
    await store_clicks(db, world, campaign, clicks)
    rows = await analytics(gql, world, shape="TIMESERIES", metrics=["total_clicks"],
                           interval="P1D", ranges=date_ranges(ranges))  # fmt: skip
    got = {datetime.fromisoformat(r["dateTime"]).date(): metrics_of(r)["total_clicks"]
           for r in rows if metrics_of(r)["total_clicks"]}  # fmt: skip
    days = Counter(c.at.date() for c in clicks if c.tenant == "A" and in_ranges(c.at, ranges))
    assert got == dict(days)


@dataclass(frozen=True)
class Conversion:
    tenant: str
    hour: int
    currency: str
    status: str
    value: int
    commission: int


conversions_strategy = st.lists(
    st.builds(
        Conversion,
        tenant=st.sampled_from(TENANTS),
        hour=st.integers(0, HOURS - 1),
        currency=st.sampled_from(["GBP", "EUR"]),
        status=st.sampled_from(["approved", "pending", "rejected"]),
        value=st.integers(0, 100_000),
        commission=st.integers(0, 10_000),
    ),
    max_size=30,
)
CONVERSION_METRICS = ["total_conversions", "total_order_value", "total_partner_commission",
                      "conversion_rejection_rate"]  # fmt: skip


@EXAMPLES
@given(conversions=conversions_strategy, ranges=ranges_strategy)
async def test_analytics_conversion_money_matches_the_oracle(
    gql: GraphQL, db: Database, world: World, campaign: Document,
    conversions: list[Conversion], ranges: list[tuple[int, int]],
) -> None:  # fmt: skip
    await db.affiliate_conversions.delete_many({})
    partner = {"A": world.partner_a, "B": world.partner_b}
    docs = [
        affiliate.conversion_doc(partner[c.tenant], campaign, BASE + timedelta(hours=c.hour),
                                 currency=c.currency, status=c.status,
                                 items=[{"value": c.value, "commission": c.commission}])
        for c in conversions
    ]  # fmt: skip
    if docs:
        await db.affiliate_conversions.insert_many(docs)
    rows = await analytics(gql, world, shape="COUNT", metrics=CONVERSION_METRICS,
                           currency="GBP", ranges=date_ranges(ranges))  # fmt: skip
    mine = [c for c in conversions if c.tenant == "A" and c.currency == "GBP"
            and in_ranges(BASE + timedelta(hours=c.hour), ranges)]  # fmt: skip
    n = len(mine)
    expected = {
        "total_conversions": n,
        "total_order_value": sum(c.value for c in mine) / 100,
        "total_partner_commission": sum(c.commission for c in mine) / 100,
        "conversion_rejection_rate": sum(c.status == "rejected" for c in mine) / n if n else 0.0,
    }
    [got] = [metrics_of(r) for r in rows]
    assert got == pytest.approx(expected)


# --- voucher stats ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Voucher:
    tenant: str
    status: str
    expires_in_days: int  # negative: expired; 0: never


vouchers_strategy = st.lists(
    st.builds(
        Voucher,
        tenant=st.sampled_from(TENANTS),
        status=st.sampled_from(["active", "redeemed", "revoked"]),
        expires_in_days=st.integers(-5, 5),
    ),
    max_size=30,
)


@EXAMPLES
@given(vouchers=vouchers_strategy)
async def test_voucher_stats_match_the_oracle(
    gql: GraphQL, db: Database, world: World, vouchers: list[Voucher]
) -> None:
    from tests.portal_fixtures import given_voucher

    await db.vouchers.delete_many({})
    now = utcnow()
    partner = {"A": world.partner_a, "B": world.partner_b}
    for v in vouchers:
        expires = None if v.expires_in_days == 0 else now + timedelta(days=v.expires_in_days)
        await given_voucher(db, partner[v.tenant], status=v.status, expires_at=expires)
    body = await gql(VOUCHER_STATS, as_=world.a_owner)
    assert "errors" not in body, body
    mine = [v for v in vouchers if v.tenant == "A"]
    expired = sum(1 for v in mine if v.status == "active" and v.expires_in_days < 0)
    assert body["data"]["voucherStats"] == {
        "total": len(mine),
        "active": sum(1 for v in mine if v.status == "active") - expired,
        "redeemed": sum(1 for v in mine if v.status == "redeemed"),
        "expired": expired,
        "revoked": sum(1 for v in mine if v.status == "revoked"),
    }


# --- leaderboard -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Award:
    tenant: str
    fan: str
    point: str
    day: int
    count: int
    kind: str | None = None  # point type; None: stored before point types existed


awards_strategy = st.lists(
    st.builds(
        Award,
        tenant=st.sampled_from(TENANTS),
        fan=st.sampled_from(["fan_a1", "fan_a2", "fan_a3", "fan_a4", "fan_a5"]),
        point=st.sampled_from(["stars", "coins"]),
        day=st.integers(0, 9),
        count=st.integers(1, 9),
        kind=st.sampled_from([None, "points", "atvenu", "bestring"]),
    ),
    max_size=40,
)
DAY0 = date(2026, 2, 1)


@EXAMPLES
@given(
    awards=awards_strategy,
    window=st.tuples(
        st.one_of(st.none(), st.integers(0, 9)), st.one_of(st.none(), st.integers(0, 9))
    ),
    first=st.integers(1, 6),
)
async def test_leaderboard_matches_the_oracle(
    gql: GraphQL, db: Database, world: World, awards: list[Award],
    window: tuple[int | None, int | None], first: int,
) -> None:  # fmt: skip
    lo, hi = window
    if lo is not None and hi is not None and hi < lo:
        lo, hi = hi, lo
    await db.fan_point_awards.delete_many({})
    partner = {"A": world.partner_a, "B": world.partner_b}
    docs = [
        {"_id": f"fpa_{i}", "partner_id": partner[a.tenant], "fan_id": f"{a.fan}_{a.tenant}",
         "point_name": a.point, "count": a.count, "fan_point": f"{a.fan}_{a.tenant}|{a.point}",
         "day": (DAY0 + timedelta(days=a.day)).isoformat(), "created_at": utcnow(),
         **({"point_type": a.kind} if a.kind else {})}
        for i, a in enumerate(awards)
    ]  # fmt: skip
    if docs:
        await db.fan_point_awards.insert_many(docs)
    variables: dict[str, Any] = {"point": "stars", "first": first}
    if lo is not None:
        variables["start"] = (DAY0 + timedelta(days=lo)).isoformat()
    if hi is not None:
        variables["end"] = (DAY0 + timedelta(days=hi)).isoformat()
    body = await gql(LEADERBOARD, variables, as_=world.a_owner)
    assert "errors" not in body, body
    totals: Counter[str] = Counter()
    for a in awards:
        if (a.tenant == "A" and a.point == "stars" and (lo is None or a.day >= lo)
                and (hi is None or a.day <= hi)
                and a.kind in (None, "points")):  # only points rank  # fmt: skip
            totals[f"{a.fan}_A"] += a.count
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:first]
    got = [(e["fanId"], e["points"]) for e in body["data"]["leaderboard"]]
    assert got == ranked
    # equal totals share a rank (1, 2, 2, 4)
    ranks = [1 + sum(1 for _, t in ranked if t > total) for _, total in ranked]
    assert [e["rank"] for e in body["data"]["leaderboard"]] == ranks


# --- portal billing --------------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    tenant: str
    member: int
    day: int  # days from 2026-01-25 (the month asked is February 2026)
    minutes: int


watches_strategy = st.lists(
    st.builds(
        Watch,
        tenant=st.sampled_from(TENANTS),
        member=st.integers(0, 3),
        day=st.integers(0, 40),
        minutes=st.integers(1, 90),
    ),
    max_size=40,
)


@pytest.fixture
async def members(db: Database, world: World) -> dict[tuple[str, int], Document]:
    from tests.portal_fixtures import given_member

    out = {}
    for tenant, partner_id in (("A", world.partner_a), ("B", world.partner_b)):
        for i in range(4):
            out[(tenant, i)] = await given_member(db, partner_id, name=f"{tenant} {i}")
    return out


@EXAMPLES
@given(watches=watches_strategy)
async def test_billing_matches_the_oracle(
    gql: GraphQL, db: Database, world: World, members: dict[tuple[str, int], Document],
    watches: list[Watch],
) -> None:  # fmt: skip
    from loaders import members as member_data
    from tests.portal_fixtures import given_class

    await db.watch_events.delete_many({})
    klass = await given_class(db, world.partner_a)
    start = datetime(2026, 1, 25, 12, tzinfo=UTC)
    docs = [
        member_data.new_watch_event(
            members[(w.tenant, w.member)], klass, w.minutes, start + timedelta(days=w.day)
        )
        for w in watches
    ]
    if docs:
        await db.watch_events.insert_many(docs)
    body = await gql(BILLING, {"month": 2, "year": 2026}, as_=world.a_owner)
    assert "errors" not in body, body
    usage: dict[str, list[int]] = {}
    for w in watches:
        day = (start + timedelta(days=w.day)).date()
        if w.tenant == "A" and (day.year, day.month) == (2026, 2):
            minutes_views = usage.setdefault(members[("A", w.member)]["_id"], [0, 0])
            minutes_views[0] += w.minutes
            minutes_views[1] += 1
    billing = body["data"]["billing"]
    got = {m["member"]["id"]: [m["watchMinutes"], m["classesWatched"]] for m in billing["members"]}
    assert got == usage
    assert billing["activeMemberCount"] == len(usage)


@EXAMPLES
@given(watches=watches_strategy, span=st.tuples(st.integers(0, 40), st.integers(0, 40)))
async def test_portal_analytics_match_the_oracle(
    gql: GraphQL, db: Database, world: World, members: dict[tuple[str, int], Document],
    watches: list[Watch], span: tuple[int, int],
) -> None:  # fmt: skip
    from loaders import members as member_data
    from tests.portal_fixtures import given_class

    await db.watch_events.delete_many({})
    classes = [await given_class(db, world.partner_a, "Flow", "Yoga"),
               await given_class(db, world.partner_a, "Burn", "HIIT")]  # fmt: skip
    start = datetime(2026, 1, 25, 12, tzinfo=UTC)
    docs = [
        member_data.new_watch_event(members[(w.tenant, w.member)], classes[w.minutes % 2],
                                    w.minutes, start + timedelta(days=w.day))
        for w in watches
    ]  # fmt: skip
    if docs:
        await db.watch_events.insert_many(docs)
    lo, hi = sorted(span)
    first, last = (start + timedelta(days=lo)).date(), (start + timedelta(days=hi)).date()
    body = await gql(PORTAL_ANALYTICS, {"start": first.isoformat(), "end": last.isoformat()},
                     as_=world.a_owner)  # fmt: skip
    assert "errors" not in body, body
    got = body["data"]["analytics"]
    mine = [
        w for w in watches
        if w.tenant == "A" and first <= (start + timedelta(days=w.day)).date() <= last
    ]  # fmt: skip
    by_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for w in mine:
        day = by_day[(start + timedelta(days=w.day)).date().isoformat()]
        day[0] += w.minutes
        day[1] += 1
        category = by_category[classes[w.minutes % 2]["category"]]
        category[0] += w.minutes
        category[1] += 1
    assert {d["date"]: [d["minutes"], d["views"]] for d in got["watchTimeByDay"] if d["views"]} == (
        dict(by_day)
    )
    assert len(got["watchTimeByDay"]) == (last - first).days + 1
    assert {c["category"]: [c["minutes"], c["views"]] for c in got["popularCategories"]} == (
        dict(by_category)
    )
    assert got["totals"] == {
        "watchTimeMinutes": sum(w.minutes for w in mine),
        "classesWatched": len(mine),
        "activeMembers": len({w.member for w in mine}),
    }


# --- ticket stats ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sale:
    tenant: str
    buyer: int
    day: int  # days from 2026-03-01
    seats: int
    amount: int
    currency: str
    event: str
    deleted: bool


sales_strategy = st.lists(
    st.builds(
        Sale,
        tenant=st.sampled_from(TENANTS),
        buyer=st.integers(0, 3),
        day=st.integers(0, 20),
        seats=st.integers(1, 4),
        amount=st.integers(0, 20_000),
        currency=st.sampled_from(["GBP", "EUR"]),
        event=st.sampled_from(["Summer Show", "Winter Gala"]),
        deleted=st.booleans(),
    ),
    max_size=25,
)
TICKET_STATS = """
query S($lo: Date!, $hi: Date!, $event: String, $specific: Boolean!) {
  ticketStats(minPurchaseDate: $lo, maxPurchaseDate: $hi, eventName: $event,
              eventSpecific: $specific) {
    returningFansCount newFansCount salesCount seatsCount revenue { amount currency }
  }
}"""
SALES_DAY0 = date(2026, 3, 1)


@EXAMPLES
@given(
    sales=sales_strategy,
    span=st.tuples(st.integers(0, 20), st.integers(0, 20)),
    event=st.one_of(st.none(), st.sampled_from(["Summer Show", "Winter Gala"])),
    specific=st.booleans(),
)
async def test_ticket_stats_match_the_oracle(
    gql: GraphQL, db: Database, world: World, sales: list[Sale], span: tuple[int, int],
    event: str | None, specific: bool,
) -> None:  # fmt: skip
    from tests.crm_fixtures import given_tickets, ticket_draft

    await db.tickets.delete_many({})
    await db.fans.delete_many({})
    partner = {"A": world.partner_a, "B": world.partner_b}
    for s in sales:  # one request each, in generation order, like separate sales
        moment = datetime.combine(SALES_DAY0 + timedelta(days=s.day), datetime.min.time(), UTC)
        draft = ticket_draft(f"buyer{s.buyer}@example.com", moment + timedelta(hours=12),
                             num_seats=s.seats, paid_amount=s.amount, currency=s.currency,
                             event_name=s.event, is_deleted=s.deleted)  # fmt: skip
        await given_tickets(db, partner[s.tenant], [draft])
    lo, hi = sorted(span)
    variables = {"lo": (SALES_DAY0 + timedelta(days=lo)).isoformat(),
                 "hi": (SALES_DAY0 + timedelta(days=hi)).isoformat(), "specific": specific,
                 "event": event}  # fmt: skip
    body = await gql(TICKET_STATS, variables, as_=world.a_owner)
    assert "errors" not in body, body
    live = [s for s in sales if s.tenant == "A" and not s.deleted]
    matching = [s for s in live if event is None or s.event == event]
    window = [s for s in matching if lo <= s.day <= hi]
    buyers = {s.buyer for s in window}
    earlier = matching if specific else live
    returning = {b for b in buyers if any(s.buyer == b and s.day < lo for s in earlier)}
    revenue: Counter[str] = Counter()
    for s in window:
        revenue[s.currency] += s.amount
    assert body["data"]["ticketStats"] == {
        "returningFansCount": len(returning),
        "newFansCount": len(buyers) - len(returning),
        "salesCount": len(window),
        "seatsCount": sum(s.seats for s in window),
        "revenue": [{"amount": revenue[c], "currency": c} for c in sorted(revenue)],
    }


# --- activation stats ------------------------------------------------------------------------


@dataclass(frozen=True)
class Tracked:
    activation: int  # 0: A's activation asked for, 1: another of A's, 2: B's
    kind: str
    session: int
    hours_ago: int


tracked_strategy = st.lists(
    st.builds(
        Tracked,
        activation=st.integers(0, 2),
        kind=st.sampled_from(["view", "outbound", "calendar"]),
        session=st.integers(0, 5),
        hours_ago=st.integers(0, 24 * 6),
    ),
    max_size=40,
)
ACTIVATION_STATS = """
query S($id: ID!) {
  activationStats(activationId: $id) { metrics {
    clickCount outboundClickCount calendarSyncCount uniqueSessionCount uniqueViewSessionCount
    uniqueOutboundSessionCount uniqueCalendarSessionCount outboundSessionRate
    calendarSessionRate outboundInteractionRate calendarInteractionRate
  } }
}"""


@EXAMPLES
@given(events=tracked_strategy)
async def test_activation_stats_match_the_oracle(
    gql: GraphQL, db: Database, world: World, events: list[Tracked]
) -> None:
    from loaders import activations as activation_data
    from tests.activations_fixtures import given_activation

    for name in ("activations", "activation_daily", "activation_sessions"):
        await db[name].delete_many({})
    owners = (world.partner_a, world.partner_a, world.partner_b)
    docs = [(await given_activation(db, owner, event_key=f"ev-{i}"))[0]
            for i, owner in enumerate(owners)]  # fmt: skip
    now = utcnow()
    for e in events:
        await activation_data.record_event(
            db, docs[e.activation], activation_data.EventKind(e.kind), f"s{e.session}",
            now - timedelta(hours=e.hours_ago),
        )  # fmt: skip
    body = await gql(ACTIVATION_STATS, {"id": docs[0]["_id"]}, as_=world.a_owner)
    assert "errors" not in body, body
    mine = [e for e in events if e.activation == 0]

    def sessions(kind: str | None = None) -> int:
        return len({e.session for e in mine if kind is None or e.kind == kind})

    views, outbound, calendar, anyone = (
        sessions("view"), sessions("outbound"), sessions("calendar"), sessions()
    )  # fmt: skip
    assert body["data"]["activationStats"]["metrics"] == {
        "clickCount": sum(e.kind == "view" for e in mine),
        "outboundClickCount": sum(e.kind == "outbound" for e in mine),
        "calendarSyncCount": sum(e.kind == "calendar" for e in mine),
        "uniqueSessionCount": anyone,
        "uniqueViewSessionCount": views,
        "uniqueOutboundSessionCount": outbound,
        "uniqueCalendarSessionCount": calendar,
        "outboundSessionRate": _rate(outbound, views),
        "calendarSessionRate": _rate(calendar, views),
        "outboundInteractionRate": _rate(outbound, anyone),
        "calendarInteractionRate": _rate(calendar, anyone),
    }


def _rate(numerator: int, denominator: int) -> float:
    """Percent with one decimal, half up (the oracle's own arithmetic, in tenths)."""
    if denominator == 0:
        return 0.0
    tenths, remainder = divmod(numerator * 1000, denominator)
    if 2 * remainder >= denominator:
        tenths += 1
    return tenths / 10


# --- portal dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class Joined:
    tenant: str
    days_ago: int


@dataclass(frozen=True)
class Watched:
    member: int
    days_ago: int
    minutes: int


DASHBOARD = """
query { dashboard { totalMembers activeMembers totalWatchTimeMinutes totalClassesWatched
                    trends { membersChange watchTimeChange } } }"""


def change(current: int, previous: int) -> str:
    if previous == 0:
        percent = 100 if current > 0 else 0
    else:
        percent = round((current - previous) * 100 / previous)
    return f"{'+' if percent >= 0 else ''}{percent}%"


@EXAMPLES
@given(
    joined=st.lists(
        st.builds(Joined, tenant=st.sampled_from(TENANTS), days_ago=st.integers(0, 70)),
        min_size=1, max_size=6,
    ),
    watched=st.lists(
        st.builds(Watched, member=st.integers(0, 5), days_ago=st.integers(0, 70),
                  minutes=st.integers(1, 90)),
        max_size=20,
    ),
)  # fmt: skip
async def test_dashboard_matches_the_oracle(
    gql: GraphQL, db: Database, world: World, joined: list[Joined], watched: list[Watched]
) -> None:
    from tests.portal_fixtures import given_class, given_member, given_watches

    await db.members.delete_many({})
    await db.watch_events.delete_many({})
    now = utcnow()
    partner = {"A": world.partner_a, "B": world.partner_b}
    klass = await given_class(db, world.partner_a)
    docs = [await given_member(db, partner[j.tenant], created_at=now - timedelta(days=j.days_ago))
            for j in joined]  # fmt: skip
    watches = [w for w in watched if w.member < len(joined)]
    for w in watches:
        member = await db.members.find_one({"_id": docs[w.member]["_id"]})
        assert member is not None
        await given_watches(db, member, klass, [w.minutes], at=now - timedelta(days=w.days_ago))
    body = await gql(DASHBOARD, as_=world.a_owner)
    assert "errors" not in body, body
    mine = [i for i, j in enumerate(joined) if j.tenant == "A"]
    my_watches = [w for w in watches if w.member in mine]
    # a boundary day (exactly 30 / 60 days ago) falls out: the gateway's `now` is later
    active = {w.member for w in my_watches if w.days_ago < 30}
    assert body["data"]["dashboard"] == {
        "totalMembers": len(mine),
        "activeMembers": len(active),
        "totalWatchTimeMinutes": sum(w.minutes for w in my_watches),
        "totalClassesWatched": len(my_watches),
        "trends": {
            "membersChange": change(sum(joined[i].days_ago < 30 for i in mine),
                                    sum(30 <= joined[i].days_ago < 60 for i in mine)),
            "watchTimeChange": change(
                sum(w.minutes for w in my_watches if w.days_ago <= 29),
                sum(w.minutes for w in my_watches if 30 <= w.days_ago <= 59),
            ),
        },
    }  # fmt: skip
