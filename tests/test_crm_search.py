"""The CRM fan search (seed 002): every filter against a Python oracle over generated fans and
tickets of two partners, rejections, snapshot filters, pre-computed activity fields, N+1."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database, Document
from loaders import crm as data
from loaders.base import utcnow
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan, given_tickets, ticket_draft

SEARCH = """
query($filter: FanFilter, $first: Int) {
  fans(filter: $filter, first: $first) { totalCount edges { node { id } } }
}"""
FAN = "query($id: ID!) { fan(id: $id) { lastActiveAt lastCampaignTitle } }"
ACTIVITY = """
mutation($input: CreateFanActivityInput!) { createFanActivity(input: $input) { id } }"""
SNAPSHOT = """
mutation($input: SaveSegmentInput!) { createSegmentSnapshot(input: $input) { id } }"""

DAY = timedelta(days=1)
TAGS = ["a", "b", "c"]
WORDS = ["x", "y"]
NETWORKS = ["facebook", "spotify"]
IDOLS = ["i1", "i2", "i3"]


def ids(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    return sorted(e["node"]["id"] for e in body["data"]["fans"]["edges"])


# --- generated data and the oracle -----------------------------------------------------

FAN_ROW = st.fixed_dictionaries({
    "partner": st.sampled_from("AAB"),
    "tags": st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
    "source": st.sampled_from(["", "web", "pos"]),
    "province": st.sampled_from(["", "ON", "BC"]),
    "is_subscribed": st.booleans(),
    "birth": st.none() | st.dates(date(1930, 1, 1), date(2024, 12, 28)).filter(
        lambda d: d.day <= 28),
    "active_days_ago": st.none() | st.integers(0, 60),
    "rating": st.integers(0, 5), "metro": st.sampled_from(["", "M1", "M2"]),
    "networks": st.lists(st.sampled_from(NETWORKS), unique=True, max_size=2),
    "idols": st.lists(st.sampled_from(IDOLS), unique=True, max_size=3),
    "tickets": st.lists(st.fixed_dictionaries({
        "event": st.sampled_from(WORDS), "artist": st.sampled_from(WORDS),
        "price_code": st.sampled_from(WORDS), "province": st.sampled_from(["ON", "BC"]),
        "seats": st.integers(1, 4), "paid": st.integers(0, 20_000),
        "bought_days_ago": st.integers(0, 90), "event_in_days": st.integers(-30, 90),
        "deleted": st.booleans(),
    }), max_size=3),
})  # fmt: skip

MAYBE_INT = st.none() | st.integers(1, 4)
FILTER = st.fixed_dictionaries({}, optional={
    "tags": st.lists(st.sampled_from(TAGS), min_size=1, unique=True),
    "tagsAll": st.lists(st.sampled_from(TAGS), min_size=1, unique=True),
    "tagsNone": st.lists(st.sampled_from(TAGS), min_size=1, unique=True),
    "sources": st.lists(st.sampled_from(["web", "pos"]), min_size=1, unique=True),
    "provinces": st.lists(st.sampled_from(["ON", "BC"]), min_size=1, unique=True),
    "isSubscribed": st.booleans(),
    "youngestAge": st.integers(0, 100), "oldestAge": st.integers(0, 100),
    "activeWithinDays": st.integers(1, 60), "inactiveForDays": st.integers(1, 60),
    "ticketEventName": st.sampled_from(WORDS), "ticketArtistName": st.sampled_from(WORDS),
    "ticketPriceCode": st.sampled_from(WORDS),
    "ticketVenueProvinces": st.lists(st.sampled_from(["ON", "BC"]), min_size=1, unique=True),
    "ticketPurchasedDays": st.integers(1, 90),
    "ticketEventFrom": st.integers(-30, 90), "ticketEventTo": st.integers(-30, 90),
    "ticketSeatPriceMin": st.integers(0, 5000), "ticketSeatPriceMax": st.integers(0, 5000),
    "ticketSeatCountMin": MAYBE_INT, "ticketSeatCountMax": MAYBE_INT,
    "ticketSalesCountMin": st.integers(1, 3), "ticketSalesCountMax": st.integers(1, 3),
    "ticketNegative": st.booleans(),
    "networks": st.lists(st.sampled_from(NETWORKS), min_size=1, unique=True),
    "ratingMin": st.integers(0, 5), "ratingMax": st.integers(0, 5),
    "metroAreas": st.lists(st.sampled_from(["M1", "M2"]), min_size=1, unique=True),
    "idols": st.lists(st.sampled_from(IDOLS), min_size=1, unique=True),
    "idolsAll": st.lists(st.sampled_from(IDOLS), min_size=1, unique=True),
    "idolsNone": st.lists(st.sampled_from(IDOLS), min_size=1, unique=True),
    "maxCount": st.integers(1, 6),
})  # fmt: skip


def age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def ticket_matches(t: dict[str, Any], f: dict[str, Any], today: date) -> bool:
    checks = [
        not t["deleted"],
        f.get("ticketEventName") in (None, t["event"]),
        f.get("ticketArtistName") in (None, t["artist"]),
        f.get("ticketPriceCode") in (None, t["price_code"]),
        t["province"] in f.get("ticketVenueProvinces", [t["province"]]),
        "ticketPurchasedDays" not in f or t["bought_days_ago"] <= f["ticketPurchasedDays"] - 1,
        "ticketEventFrom" not in f or t["event_in_days"] >= f["ticketEventFrom"],
        "ticketEventTo" not in f or t["event_in_days"] <= f["ticketEventTo"],
        f.get("ticketSeatCountMin") is None or t["seats"] >= f["ticketSeatCountMin"],
        f.get("ticketSeatCountMax") is None or t["seats"] <= f["ticketSeatCountMax"],
        "ticketSeatPriceMin" not in f or t["paid"] >= f["ticketSeatPriceMin"] * t["seats"],
        "ticketSeatPriceMax" not in f or t["paid"] <= f["ticketSeatPriceMax"] * t["seats"],
    ]
    return all(checks)


TICKET_FILTERS = {
    "ticketEventName", "ticketArtistName", "ticketPriceCode", "ticketVenueProvinces",
    "ticketPurchasedDays", "ticketEventFrom", "ticketEventTo", "ticketSeatPriceMin",
    "ticketSeatPriceMax", "ticketSeatCountMin", "ticketSeatCountMax", "ticketSalesCountMin",
    "ticketSalesCountMax",
}  # fmt: skip


def oracle(row: dict[str, Any], f: dict[str, Any], today: date) -> bool:
    tags = set(row["tags"])
    checks = [
        "tags" not in f or bool(tags & set(f["tags"])),
        "tagsAll" not in f or set(f["tagsAll"]) <= tags,
        "tagsNone" not in f or not tags & set(f["tagsNone"]),
        "sources" not in f or row["source"] in f["sources"],
        "provinces" not in f or row["province"] in f["provinces"],
        "isSubscribed" not in f or row["is_subscribed"] == f["isSubscribed"],
        "networks" not in f or bool(set(row["networks"]) & set(f["networks"])),
        f.get("ratingMin", 0) <= row["rating"] <= f.get("ratingMax", 5),
        "metroAreas" not in f or row["metro"] in f["metroAreas"],
        "idols" not in f or bool(set(row["idols"]) & set(f["idols"])),
        "idolsAll" not in f or set(f["idolsAll"]) <= set(row["idols"]),
        "idolsNone" not in f or not set(row["idols"]) & set(f["idolsNone"]),
    ]
    if "youngestAge" in f or "oldestAge" in f:
        checks.append(row["birth"] is not None
                      and f.get("youngestAge", 0) <= age(row["birth"], today)
                      <= f.get("oldestAge", 10_000))  # fmt: skip
    active = row["active_days_ago"]
    if "activeWithinDays" in f:
        checks.append(active is not None and active < f["activeWithinDays"])
    if "inactiveForDays" in f:
        checks.append(active is None or active >= f["inactiveForDays"])
    given_keys = {k for k, v in f.items() if v is not None}
    if TICKET_FILTERS & given_keys or f.get("ticketNegative"):
        n = sum(1 for t in row["tickets"] if ticket_matches(t, f, today))
        bought = n >= 1 and f.get("ticketSalesCountMin", 1) <= n <= f.get(
            "ticketSalesCountMax", 10**9)  # fmt: skip
        checks.append(not bought if f.get("ticketNegative") else bought)
    return all(checks)


def filter_variables(f: dict[str, Any], today: date) -> dict[str, Any]:
    out = dict(f)
    for key in ("ticketEventFrom", "ticketEventTo"):
        if key in out:
            out[key] = (today + out[key] * DAY).isoformat()
    return out


def consistent(f: dict[str, Any]) -> bool:
    for lo, hi in (("youngestAge", "oldestAge"), ("ticketEventFrom", "ticketEventTo"),
                   ("ticketSeatPriceMin", "ticketSeatPriceMax"),
                   ("ticketSeatCountMin", "ticketSeatCountMax"),
                   ("ticketSalesCountMin", "ticketSalesCountMax"),
                   ("ratingMin", "ratingMax")):  # fmt: skip
        if f.get(lo) is not None and f.get(hi) is not None and f[hi] < f[lo]:
            return False
    return True


async def store(db: Database, world: World, rows: list[dict[str, Any]]) -> list[Document]:
    now = utcnow()
    today = now.date()
    early = datetime(today.year, today.month, today.day, 1, tzinfo=UTC)
    fans: list[Document] = []
    tickets: list[Document] = []
    for i, row in enumerate(rows):
        partner = world.partner_a if row["partner"] == "A" else world.partner_b
        fields: dict[str, Any] = {
            "email": f"s{i}-{uuid.uuid4().hex[:6]}@example.com", "tags": row["tags"],
            "source": row["source"], "province": row["province"], "country_code": "CA",
            "is_subscribed": row["is_subscribed"],
            "birth_date": row["birth"].isoformat() if row["birth"] else "",
            "rating": row["rating"], "metro_area": row["metro"], "networks": row["networks"],
            "idol_names": row["idols"],
        }  # fmt: skip
        if row["active_days_ago"] is not None:
            fields["last_active_ms"] = data.to_ms(now - row["active_days_ago"] * DAY - DAY / 2)
        fan = data.new_fan_doc(partner, fields)
        fans.append(fan)
        for j, t in enumerate(row["tickets"]):
            bought = early - t["bought_days_ago"] * DAY
            tickets.append({
                "_id": f"tkt_s{i}x{j}{uuid.uuid4().hex[:6]}", "partner_id": partner,
                "seq": i * 10 + j, "fan_id": fan["_id"], "email": fan["email"],
                "event_name": t["event"], "artist_name": t["artist"],
                "price_code": t["price_code"], "province": t["province"],
                "num_seats": t["seats"], "paid_amount": t["paid"], "currency": "CAD",
                "purchased_at": bought,
                "event_date": (today + t["event_in_days"] * DAY).isoformat(),
                "is_deleted": t["deleted"], "venue_name": "Hall", "created_at": bought,
                "updated_ms": data.to_ms(bought),
            })  # fmt: skip
    if fans:
        await db.fans.insert_many(fans)
    if tickets:
        await db.tickets.insert_many(tickets)
    return fans


# No shrinking: each example is a few HTTP round trips, and the failing filter is in the message.
@settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=st.lists(FAN_ROW, max_size=14), filters=st.lists(FILTER.filter(consistent),
       min_size=1, max_size=3))  # fmt: skip
async def test_every_search_filter_matches_a_python_oracle(
    gql: GraphQL, world: World, db: Database, rows: list[dict[str, Any]],
    filters: list[dict[str, Any]],
) -> None:  # fmt: skip
    # given generated fans and tickets of two partners, interleaved
    await db.fans.delete_many({})
    await db.tickets.delete_many({})
    fans = await store(db, world, rows)
    today = utcnow().date()
    for f in filters:
        # when partner A searches
        body = await gql(SEARCH, {"filter": filter_variables(f, today), "first": 100},
                         as_=world.a_analyst)  # fmt: skip
        # then it finds exactly the oracle's fans of A, and counts them
        hits = [fan for fan, row in zip(fans, rows, strict=True)
                if row["partner"] == "A" and oracle(row, f, today)]  # fmt: skip
        # newest first, at most maxCount of them (the seed's max_count)
        hits.sort(key=lambda fan: (fan["created_ms"], fan["_id"]), reverse=True)
        want = sorted(fan["_id"] for fan in hits[: f.get("maxCount", 100_000)])
        assert ids(body) == want, f
        assert body["data"]["fans"]["totalCount"] == len(want), f


# --- specific cases --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter", "field"),
    [({"youngestAge": -1}, "filter.youngestAge"), ({"oldestAge": 151}, "filter.oldestAge"),
     ({"youngestAge": 30, "oldestAge": 20}, "filter.oldestAge"),
     ({"activeWithinDays": 0}, "filter.activeWithinDays"),
     ({"inactiveForDays": 40000}, "filter.inactiveForDays"),
     ({"activeFrom": "2026-02-01", "activeTo": "2026-01-01"}, "filter.activeTo"),
     ({"tagsAll": [" "]}, "filter.tagsAll"), ({"tagsNone": ["t"] * 101}, "filter.tagsNone"),
     ({"inSnapshots": ["sfl_notasnapshot"]}, "filter.inSnapshots"),
     ({"ticketSeatPriceMin": -1}, "filter.ticketSeatPriceMin"),
     ({"ticketSeatCountMin": 3, "ticketSeatCountMax": 2}, "filter.ticketSeatCountMax"),
     ({"ticketSalesCountMin": 0}, "filter.ticketSalesCountMin"),
     ({"ticketPurchasedDays": 0}, "filter.ticketPurchasedDays"),
     ({"ticketEventFrom": "2026-02-01", "ticketEventTo": "2026-01-01"}, "filter.ticketEventTo"),
     ({"ticketArtistName": "x" * 201}, "filter.ticketArtistName"),
     ({"ratingMin": -1}, "filter.ratingMin"), ({"ratingMax": 6}, "filter.ratingMax"),
     ({"ratingMin": 4, "ratingMax": 3}, "filter.ratingMax"),
     ({"networks": ["Face Book"]}, "filter.networks"), ({"metroAreas": [""]}, "filter.metroAreas"),
     ({"idols": ["i"] * 101}, "filter.idols"), ({"idolsAll": [" "]}, "filter.idolsAll"),
     ({"idolsNone": ["x" * 121]}, "filter.idolsNone"), ({"maxCount": 0}, "filter.maxCount"),
     ({"maxCount": 1_000_001}, "filter.maxCount")],
)  # fmt: skip
async def test_bad_search_filters_are_refused(
    gql: GraphQL, world: World, filter: dict[str, Any], field: str
) -> None:
    body = await gql(SEARCH, {"filter": filter}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert body["data"] is None


async def test_text_search_counts_only_the_callers_fans(
    gql: GraphQL, world: World, db: Database
) -> None:
    # `{partner_id, $or}` in count_documents' $match let other tenants' rows in on the store
    await given_fan(db, world.partner_a, first_name="Ada")
    for _ in range(3):
        await given_fan(db, world.partner_b, first_name="Ada")
    body = await gql(SEARCH, {"filter": {"text": "ada"}}, as_=world.a_owner)
    assert len(ids(body)) == 1
    assert body["data"]["fans"]["totalCount"] == 1


async def test_snapshot_filters_include_and_exclude_members(
    gql: GraphQL, world: World, db: Database
) -> None:
    vip = [await given_fan(db, world.partner_a, tags=["vip"]) for _ in range(2)]
    other = await given_fan(db, world.partner_a)
    body = await gql(SNAPSHOT, {"input": {"name": "v", "filter": {"tags": ["vip"]}}},
                     as_=world.a_owner)  # fmt: skip
    snap = body["data"]["createSegmentSnapshot"]["id"]
    body = await gql(SEARCH, {"filter": {"inSnapshots": [snap]}}, as_=world.a_owner)
    assert ids(body) == sorted(f["_id"] for f in vip)
    body = await gql(SEARCH, {"filter": {"notInSnapshots": [snap]}}, as_=world.a_owner)
    assert ids(body) == [other["_id"]]
    # another partner's snapshot is not found
    body = await gql(SEARCH, {"filter": {"inSnapshots": [snap]}}, as_=world.b_owner)
    assert only_error(body)["extensions"] == {"code": "NOT_FOUND", "field": "filter.inSnapshots"}


async def test_activities_keep_the_fans_last_activity_for_the_search(
    gql: GraphQL, world: World, db: Database
) -> None:
    fan = await given_fan(db, world.partner_a)
    idle = await given_fan(db, world.partner_a)
    body = await gql(FAN, {"id": fan["_id"]}, as_=world.a_owner)
    assert body["data"]["fan"] == {"lastActiveAt": None, "lastCampaignTitle": None}
    for title in ("Quiz", "Poll"):
        await gql(ACTIVITY, {"input": {"campaignTitle": title, "fanId": fan["_id"]}},
                  as_=world.a_owner)  # fmt: skip
    got = (await gql(FAN, {"id": fan["_id"]}, as_=world.a_owner))["data"]["fan"]
    assert got["lastCampaignTitle"] == "Poll"
    assert got["lastActiveAt"] is not None
    today = utcnow().date().isoformat()
    cases = [({"activeWithinDays": 1}, [fan["_id"]]), ({"inactiveForDays": 1}, [idle["_id"]]),
             ({"activeFrom": today, "activeTo": today}, [fan["_id"]])]
    for f, want in cases:
        assert ids(await gql(SEARCH, {"filter": f}, as_=world.a_owner)) == want


async def test_search_with_ticket_filters_costs_the_same_commands_for_any_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    for _ in range(25):
        fan = await given_fan(db, world.partner_a, tags=["vip"])
        await given_tickets(db, world.partner_a, [ticket_draft(fan["email"], utcnow())])
    await given_fan(db, world.partner_b, tags=["vip"])
    f = {"tags": ["vip"], "ticketEventName": "Summer Show", "ticketSeatPriceMin": 1,
         "youngestAge": None, "inactiveForDays": 5}  # fmt: skip
    counts = []
    for first in (2, 20):
        commands.start()
        body = await gql(SEARCH, {"filter": f, "first": first}, as_=world.a_owner)
        assert len(ids(body)) == first
        assert body["data"]["fans"]["totalCount"] == 25
        counts.append(commands.total)
    assert counts[0] == counts[1]
    assert error_codes(await gql(SEARCH, {"filter": f}, as_=world.a_app)) == ["FORBIDDEN"]


async def test_tags_all_of_one_tag_finds_its_fans(gql: GraphQL, world: World, db: Database) -> None:
    # `{tags: "vip"}` on the indexed array matched nothing on the store (README: deviations)
    vip = [await given_fan(db, world.partner_a, tags=["vip", "x"]) for _ in range(2)]
    await given_fan(db, world.partner_a, tags=["x"])
    await given_fan(db, world.partner_b, tags=["vip"])
    for f in ({"tagsAll": ["vip"]}, {"tagsAll": ["vip"], "tagsNone": ["y"], "tags": ["x"]}):
        body = await gql(SEARCH, {"filter": f}, as_=world.a_owner)
        assert ids(body) == sorted(fan["_id"] for fan in vip)
        assert body["data"]["fans"]["totalCount"] == 2
