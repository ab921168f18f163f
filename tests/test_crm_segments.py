"""CRM segments (seed 002): the list of tags / snapshots / saved filters, status counts against a
Python oracle, a segment's fans paged for sync, saving searches; guards and tenancy."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.core.clock import iso_utc, utcnow
from gateway.storage.mongo import Database, Document
from loaders import crm as data
from tests.conftest import CommandCounter, GraphQL, Persona, World, error_codes, only_error
from tests.crm_fixtures import at, given_fan
from tests.test_crm_keys import key_persona

SEGMENTS = """
query($type: SegmentType, $partnerId: ID, $first: Int, $after: String) {
  segments(type: $type, partnerId: $partnerId, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { type id name } }
  }
}"""
STATUS = """
query($type: SegmentType!, $id: ID!, $partnerId: ID) {
  segmentStatus(type: $type, id: $id, partnerId: $partnerId) {
    fanCount emailCount phoneCount emailSubscribeCount phoneSubscribeCount lastUpdateAt
  }
}"""
SEGMENT_FANS = """
query($type: SegmentType!, $id: ID!, $first: Int, $after: String) {
  segmentFans(type: $type, id: $id, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id email phone firstName lastName isSubscribed isPhoneSubscribed } }
  }
}"""
SAVE_SEARCH = """
mutation($input: SaveSegmentInput!) { saveFanSearch(input: $input) { type id name } }"""
SNAPSHOT = """
mutation($input: SaveSegmentInput!) { createSegmentSnapshot(input: $input) { type id name } }"""
DELETE = """
mutation($type: SegmentType!, $id: ID!) { deleteSegment(type: $type, id: $id) }"""


def nodes(body: dict[str, Any], field: str) -> list[dict[str, Any]]:
    return [e["node"] for e in body["data"][field]["edges"]]


async def save(gql: GraphQL, who: Persona, query: str, name: str, filter: dict[str, Any]) -> str:
    body = await gql(query, {"input": {"name": name, "filter": filter}}, as_=who)
    field = "saveFanSearch" if query is SAVE_SEARCH else "createSegmentSnapshot"
    return str(body["data"][field]["id"])


# --- the list --------------------------------------------------------------------------


async def test_segments_list_tags_snapshots_and_filters_per_partner(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given interleaved fans of two partners with tags
    for i in range(6):
        partner = world.partner_a if i % 2 == 0 else world.partner_b
        await given_fan(db, partner, tags=["vip", f"t{i}"], is_subscribed=i < 3)
    # and a snapshot and a saved search of partner A
    snap = await save(gql, world.a_owner, SNAPSHOT, "VIPs today", {"tags": ["vip"]})
    saved = await save(gql, world.a_owner, SAVE_SEARCH, "Subscribed", {"isSubscribed": True})
    # then A lists its own tags, snapshot and filter in type order
    body = await gql(SEGMENTS, {}, as_=world.a_analyst)
    assert nodes(body, "segments") == [
        {"type": "TAG", "id": "t0", "name": "t0"},
        {"type": "TAG", "id": "t2", "name": "t2"},
        {"type": "TAG", "id": "t4", "name": "t4"},
        {"type": "TAG", "id": "vip", "name": "vip"},
        {"type": "SNAPSHOT", "id": snap, "name": "VIPs today"},
        {"type": "FILTER", "id": saved, "name": "Subscribed"},
    ]
    assert body["data"]["segments"]["totalCount"] == 6
    # pages walk every segment once
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(SEGMENTS, {"first": 4, "after": after}, as_=world.a_owner))["data"][
            "segments"
        ]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["t0", "t2", "t4", "vip", snap, saved]
    # by type, and B sees only its own tags
    body = await gql(SEGMENTS, {"type": "FILTER"}, as_=world.a_owner)
    assert [n["id"] for n in nodes(body, "segments")] == [saved]
    body = await gql(SEGMENTS, {}, as_=world.b_owner)
    assert [n["id"] for n in nodes(body, "segments")] == ["t1", "t3", "t5", "vip"]
    # operators name the partner
    body = await gql(SEGMENTS, {}, as_=world.operator)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "partnerId"}
    body = await gql(SEGMENTS, {"partnerId": world.partner_b}, as_=world.operator)
    assert body["data"]["segments"]["totalCount"] == 4


async def test_segment_guards(gql: GraphQL, world: World, db: Database) -> None:
    await given_fan(db, world.partner_a, tags=["vip"])
    crm_only = await key_persona(db, world.partner_a, "secret", ["crm"])
    public = await key_persona(db, world.partner_a, "public", ["segments"])
    for persona, code in ((crm_only, "FORBIDDEN"), (world.a_app, "FORBIDDEN"),
                          (world.a_member, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        body = await gql(STATUS, {"type": "TAG", "id": "vip"}, as_=persona)
        assert error_codes(body) == [code]
        assert body["data"] is None
    body = await gql(STATUS, {"type": "TAG", "id": "vip"}, as_=public)
    assert body["data"]["segmentStatus"]["fanCount"] == 1
    # writes: a public key and an analyst are refused, a secret segments key may save
    for persona in (public, world.a_analyst, crm_only):
        body = await gql(SAVE_SEARCH, {"input": {"name": "x", "filter": {}}}, as_=persona)
        assert error_codes(body) == ["FORBIDDEN"]
    assert await db.crm_search_filters.count_documents({}) == 0
    writer = await key_persona(db, world.partner_a, "secret", ["segments"])
    assert await save(gql, writer, SAVE_SEARCH, "by key", {"tags": ["vip"]})


async def test_save_search_rejections_then_success(
    gql: GraphQL, world: World, db: Database
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": " ", "filter": {}}, "name"),
        ({"name": "x" * 121, "filter": {}}, "name"),
        ({"name": "ok", "filter": {"countryCode": "germany"}}, "filter.countryCode"),
        ({"name": "ok", "filter": {"tags": ["t"] * 101}}, "filter.tags"),
    ]
    for query in (SAVE_SEARCH, SNAPSHOT):
        for input, field in cases:
            body = await gql(query, {"input": input}, as_=world.a_owner)
            assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
        body = await gql(query, {"input": {"name": "x", "filter": {}}}, as_=world.operator)
        assert only_error(body)["extensions"]["field"] == "partnerId"
        body = await gql(query, {"input": {"name": "x", "filter": {},
                         "partnerId": world.partner_b}}, as_=world.a_owner)  # fmt: skip
        assert error_codes(body) == ["NOT_FOUND"]
    assert await db.crm_search_filters.count_documents({}) == 0
    assert await db.crm_snapshots.count_documents({}) == 0
    # success, then the same name again is a conflict (per kind and partner)
    await save(gql, world.a_owner, SAVE_SEARCH, "Weekly", {"isSubscribed": True})
    body = await gql(SAVE_SEARCH, {"input": {"name": "Weekly", "filter": {}}}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "CONFLICT", "field": "name"}
    await save(gql, world.a_owner, SNAPSHOT, "Weekly", {})
    await save(gql, world.b_owner, SAVE_SEARCH, "Weekly", {})
    saved = await db.crm_search_filters.find_one({"partner_id": world.partner_a})
    assert saved is not None
    assert saved["filter"] == {"values": {"is_subscribed": True}, "dates": []}


async def test_snapshot_is_frozen_and_filter_is_live(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given two fans created in January with a tag
    for day in ("2026-01-05", "2026-01-20"):
        await given_fan(db, world.partner_a, tags=["vip"], created_at=at(day))
    search = {"tags": ["vip"], "createdFrom": "2026-01-01", "createdTo": "2026-01-31"}
    snap = await save(gql, world.a_owner, SNAPSHOT, "Jan VIPs (frozen)", search)
    live = await save(gql, world.a_owner, SAVE_SEARCH, "Jan VIPs", search)
    # when another January VIP arrives
    await given_fan(db, world.partner_a, tags=["vip"], created_at=at("2026-01-30"))
    # then the snapshot keeps its two fans, the saved search (dates kept) finds three
    for seg_type, seg_id, expected in (("SNAPSHOT", snap, 2), ("FILTER", live, 3),
                                       ("TAG", "vip", 3)):  # fmt: skip
        body = await gql(STATUS, {"type": seg_type, "id": seg_id}, as_=world.a_analyst)
        assert body["data"]["segmentStatus"]["fanCount"] == expected, seg_type


async def test_segment_lookups_refuse_bad_and_foreign_ids(
    gql: GraphQL, world: World, db: Database
) -> None:
    await given_fan(db, world.partner_b, tags=["b-only"])
    b_snap = await save(gql, world.b_owner, SNAPSHOT, "B", {})
    cases = [({"type": "TAG", "id": "b-only"}, "NOT_FOUND"),
             ({"type": "SNAPSHOT", "id": b_snap}, "NOT_FOUND"),
             ({"type": "FILTER", "id": b_snap}, "BAD_USER_INPUT"),
             ({"type": "SNAPSHOT", "id": "snp_doesnotexist"}, "NOT_FOUND")]  # fmt: skip
    for variables, code in cases:
        for query in (STATUS, SEGMENT_FANS):
            body = await gql(query, variables, as_=world.a_owner)
            assert error_codes(body) == [code], (query, variables)
            assert body["data"] is None


async def test_delete_segment_rejections_then_success(
    gql: GraphQL, world: World, db: Database
) -> None:
    await given_fan(db, world.partner_a, tags=["vip"])
    snap = await save(gql, world.a_owner, SNAPSHOT, "S", {})
    saved = await save(gql, world.a_owner, SAVE_SEARCH, "F", {})
    body = await gql(DELETE, {"type": "TAG", "id": "vip"}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "type"}
    for persona, code in ((world.b_owner, "NOT_FOUND"), (world.a_analyst, "FORBIDDEN")):
        body = await gql(DELETE, {"type": "SNAPSHOT", "id": snap}, as_=persona)
        assert error_codes(body) == [code]
    assert await db.crm_snapshot_fans.count_documents({"snapshot_id": snap}) == 1
    for seg_type, seg_id in (("SNAPSHOT", snap), ("FILTER", saved)):
        body = await gql(DELETE, {"type": seg_type, "id": seg_id}, as_=world.a_owner)
        assert body["data"]["deleteSegment"] is True
        body = await gql(DELETE, {"type": seg_type, "id": seg_id}, as_=world.a_owner)
        assert error_codes(body) == ["NOT_FOUND"]
    assert await db.crm_snapshot_fans.count_documents({}) == 0


# --- segment fans ----------------------------------------------------------------------


async def test_segment_fans_page_through_every_member_once(
    gql: GraphQL, world: World, db: Database
) -> None:
    mine = [await given_fan(db, world.partner_a, tags=["vip"], first_name=f"F{i}",
                            phone=f"+4915100{i:05d}") for i in range(7)]  # fmt: skip
    await given_fan(db, world.partner_b, tags=["vip"])
    await given_fan(db, world.partner_a, tags=["other"])
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        body = await gql(SEGMENT_FANS, {"type": "TAG", "id": "vip", "first": 3, "after": after},
                         as_=world.a_analyst)  # fmt: skip
        page = body["data"]["segmentFans"]
        assert page["totalCount"] == 7
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [n["id"] for n in seen] == sorted(f["_id"] for f in mine)
    by_id = {f["_id"]: f for f in mine}
    for node in seen:
        fan = by_id[node["id"]]
        assert node == {"id": fan["_id"], "email": fan["email"], "phone": fan["phone"],
                        "firstName": fan["first_name"], "lastName": None,
                        "isSubscribed": False, "isPhoneSubscribed": False}  # fmt: skip


async def test_segment_fan_page_limits(gql: GraphQL, world: World, db: Database) -> None:
    await given_fan(db, world.partner_a, tags=["vip"])
    small = "query($f: Int) { segmentFans(type: TAG, id: \"vip\", first: $f) { totalCount } }"
    body = await gql(small, {"f": 0}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    # pages above the gateway's usual 100 are allowed (the seed's sync pages) ...
    body = await gql(small, {"f": 5000}, as_=world.a_owner)
    assert body["data"]["segmentFans"]["totalCount"] == 1
    # ... but the operation cost limit still applies: first x selection
    body = await gql(SEGMENT_FANS, {"type": "TAG", "id": "vip", "first": 10_000},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["OPERATION_TOO_COMPLEX"]
    body = await gql(small, {"f": 10_001}, as_=world.a_owner)
    assert error_codes(body) == ["OPERATION_TOO_COMPLEX"]


async def test_segment_fans_and_list_cost_the_same_commands_for_any_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    for i in range(30):
        await given_fan(db, world.partner_a, tags=["vip", f"tag{i:02d}"])
    snap = await save(gql, world.a_owner, SNAPSHOT, "all", {})
    for query, variables, field in (
        (SEGMENT_FANS, {"type": "SNAPSHOT", "id": snap}, "segmentFans"),
        (SEGMENT_FANS, {"type": "TAG", "id": "vip"}, "segmentFans"),
        (SEGMENTS, {}, "segments"),
    ):
        counts = []
        for first in (2, 25):
            commands.start()
            body = await gql(query, {**variables, "first": first}, as_=world.a_owner)
            assert len(body["data"][field]["edges"]) == first
            counts.append(commands.total)
        assert counts[0] == counts[1], (field, variables)


# --- status counts against an oracle ---------------------------------------------------

FAN_ROWS = st.lists(
    st.fixed_dictionaries({
        "partner": st.sampled_from("AB"), "email": st.booleans(), "phone": st.booleans(),
        "is_subscribed": st.booleans(), "is_phone_subscribed": st.booleans(),
        "tags": st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3),
        "updated_ms": st.integers(1_700_000_000_000, 1_800_000_000_000),
        "active_days_ago": st.none() | st.integers(0, 60),
    }),
    max_size=20,
)  # fmt: skip


def oracle(fans: list[Document]) -> dict[str, Any]:
    latest = max((f["updated_ms"] for f in fans), default=None)
    return {
        "fanCount": len(fans),
        "emailCount": sum(1 for f in fans if "email" in f),
        "phoneCount": sum(1 for f in fans if "phone" in f),
        "emailSubscribeCount": sum(1 for f in fans if "email" in f and f["is_subscribed"]),
        "phoneSubscribeCount": sum(1 for f in fans if "phone" in f and f["is_phone_subscribed"]),
        "lastUpdateAt": latest,
    }


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=FAN_ROWS)
async def test_segment_status_matches_a_python_oracle(
    gql: GraphQL, world: World, db: Database, rows: list[dict[str, Any]]
) -> None:
    # given generated fans of two partners (every fan has an email or a phone)
    for name in ("fans", "crm_snapshots", "crm_snapshot_fans", "crm_search_filters"):
        await db[name].delete_many({})
    docs: list[Document] = []
    now = utcnow()
    for i, row in enumerate(rows):
        fields: dict[str, Any] = {k: row[k] for k in ("is_subscribed", "is_phone_subscribed",
                                                      "tags")}  # fmt: skip
        if row["email"] or not row["phone"]:
            fields["email"] = f"f{i}-{uuid.uuid4().hex[:6]}@example.com"
        if row["phone"]:
            fields["phone"] = f"+4930{i:08d}"
        if row["active_days_ago"] is not None:  # never active: no `last_active_ms` at all
            days = row["active_days_ago"] + 0.5
            fields["last_active_ms"] = data.to_ms(now - timedelta(days=days))
        doc = data.new_fan_doc(world.partner_a if row["partner"] == "A" else world.partner_b,
                               fields)  # fmt: skip
        doc["updated_ms"] = row["updated_ms"]
        docs.append(doc)
    if docs:
        await db.fans.insert_many(docs)
    a_fans = [d for d in docs if d["partner_id"] == world.partner_a]
    # and a snapshot and a saved search over partner A's fans
    snap = await save(gql, world.a_owner, SNAPSHOT, "snap", {"tags": ["a"]})
    live = await save(gql, world.a_owner, SAVE_SEARCH, "live", {"isSubscribed": True})
    # (a negation over a field some fans lack: `$or` + `$exists: false` and `$nin`, the shapes
    # the store's `count` command reads like `find`)
    idle = await save(gql, world.a_owner, SAVE_SEARCH, "idle",
                      {"inactiveForDays": 30, "tagsNone": ["c"]})  # fmt: skip
    rows_by_id = {d["_id"]: r for d, r in zip(docs, rows, strict=True)}

    def is_idle(fan: Document) -> bool:
        days = rows_by_id[fan["_id"]]["active_days_ago"]
        return (days is None or days >= 30) and "c" not in fan["tags"]

    expected_segments: list[tuple[str, str, list[Document]]] = [
        ("TAG", t, [f for f in a_fans if t in f["tags"]]) for t in ("a", "b", "c")
    ]
    expected_segments += [("SNAPSHOT", snap, [f for f in a_fans if "a" in f["tags"]]),
                          ("FILTER", live, [f for f in a_fans if f["is_subscribed"]]),
                          ("FILTER", idle, [f for f in a_fans if is_idle(f)])]  # fmt: skip
    # then every segment's status equals the oracle's counts
    for seg_type, seg_id, members in expected_segments:
        body = await gql(STATUS, {"type": seg_type, "id": seg_id}, as_=world.a_analyst)
        if seg_type == "TAG" and not members:
            assert error_codes(body) == ["NOT_FOUND"]
            continue
        status = body["data"]["segmentStatus"]
        want = oracle(members)
        if want["lastUpdateAt"] is not None:
            want["lastUpdateAt"] = iso_utc(data.from_ms(want["lastUpdateAt"]))  # type: ignore[arg-type]
        assert status == want, (seg_type, seg_id)
        body = await gql(SEGMENT_FANS, {"type": seg_type, "id": seg_id, "first": 100},
                         as_=world.a_analyst)  # fmt: skip
        assert [n["id"] for n in nodes(body, "segmentFans")] == sorted(f["_id"] for f in members)


@pytest.mark.parametrize("seg_type", ["TAG", "SNAPSHOT", "FILTER"])
async def test_empty_segments_have_zero_counts_or_are_not_found(
    gql: GraphQL, world: World, seg_type: str
) -> None:
    if seg_type == "TAG":
        body = await gql(STATUS, {"type": "TAG", "id": "nobody"}, as_=world.a_owner)
        assert error_codes(body) == ["NOT_FOUND"]
        return
    query = SNAPSHOT if seg_type == "SNAPSHOT" else SAVE_SEARCH
    seg_id = await save(gql, world.a_owner, query, "empty", {"tags": ["nobody"]})
    body = await gql(STATUS, {"type": seg_type, "id": seg_id}, as_=world.a_owner)
    assert body["data"]["segmentStatus"] == {
        "fanCount": 0, "emailCount": 0, "phoneCount": 0, "emailSubscribeCount": 0,
        "phoneSubscribeCount": 0, "lastUpdateAt": None,
    }  # fmt: skip


async def test_segment_status_counts_by_the_count_command(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given fans of both partners and a saved search with a negation
    for i in range(8):
        partner = world.partner_a if i % 2 == 0 else world.partner_b
        await given_fan(db, partner, tags=["vip"], phone=f"+4917000{i:05d}", is_subscribed=i < 4)
    idle = await save(gql, world.a_owner, SAVE_SEARCH, "idle", {"inactiveForDays": 3})
    for seg_type, seg_id in (("TAG", "vip"), ("FILTER", idle)):
        # when the status is read
        commands.start()
        body = await gql(STATUS, {"type": seg_type, "id": seg_id}, as_=world.a_analyst)
        # then the five figures come from five `count` commands, none from an aggregation
        status = body["data"]["segmentStatus"]
        counts = (status["fanCount"], status["phoneCount"], status["emailSubscribeCount"])
        assert counts == (4, 4, 2)
        assert commands.by_command.get("count") == 5, commands.by_command
        assert "aggregate" not in commands.by_command, commands.by_command
