"""CRM points (seed 002): `awardFanPoints` with its links and dedup key (rejections, guards, racing
keys of two partners), the awarded-points list's leaderboard flag and guards, N+1, and the list
checked against a Python oracle; the display-name check's guards. (The list's window and the
display-name rules: tests/test_crm_points.py.)"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database, Document
from loaders.base import utcnow
from tests.conftest import CommandCounter, GraphQL, Persona, World, error_codes, only_error
from tests.crm_fixtures import given_fan
from tests.test_crm_keys import key_persona

AWARD = """
mutation($input: AwardFanPointsInput!) {
  awardFanPoints(input: $input) {
    duplicate
    award { id pointName count pointType awardKey rewardId campaignId activityId sessionId
            day createdAt fan { id } }
  }
}"""
AWARDS = """
query($startDate: Date!, $endDate: Date!, $pointName: String, $fanId: ID,
      $leaderboard: Boolean, $first: Int, $after: String) {
  fanPointAwards(startDate: $startDate, endDate: $endDate, pointName: $pointName,
                 fanId: $fanId, leaderboard: $leaderboard, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id pointName count pointType day fan { id displayName } } }
  }
}"""
CHECK = """
query($name: String!, $partnerId: ID) {
  checkDisplayName(displayName: $name, partnerId: $partnerId) { displayName available }
}"""
ACTIVITY = """
mutation($input: CreateFanActivityInput!) { createFanActivity(input: $input) { id } }"""

TODAY = utcnow().date().isoformat()


def window(lo: str = TODAY, hi: str = TODAY, **more: Any) -> dict[str, Any]:
    return {"startDate": lo, "endDate": hi, **more}


def nodes(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["node"] for e in body["data"]["fanPointAwards"]["edges"]]


async def insert_award(db: Database, fan: Document, point: str, count: int, day: str,
                       point_type: str = "points") -> str:  # fmt: skip
    award_id = f"fpa_t{uuid.uuid4().hex[:14]}"
    await db.fan_point_awards.insert_one({
        "_id": award_id, "partner_id": fan["partner_id"], "fan_id": fan["_id"],
        "point_name": point, "count": count, "fan_point": f"{fan['_id']}|{point}",
        "point_type": point_type, "day": day, "created_at": fan["created_at"],
    })  # fmt: skip
    return award_id


@pytest.fixture
async def a_secret(db: Database, world: World) -> Persona:
    return await key_persona(db, world.partner_a, "secret", ["crm"])


@pytest.fixture
async def a_public(db: Database, world: World) -> Persona:
    return await key_persona(db, world.partner_a, "public", ["crm"])


# --- awardFanPoints --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"pointType": "COINS"}, None), ({"rewardId": "r" * 65}, "rewardId"),
     ({"campaignId": "c" * 65}, "campaignId"), ({"sessionId": "s" * 65}, "sessionId"),
     ({"activityId": "fan_notanactivity"}, "activityId"),
     ({"activityId": "fac_doesnotexist"}, "activityId")],
)  # fmt: skip
async def test_award_link_rejections(
    gql: GraphQL, world: World, db: Database, a_secret: Persona,
    overrides: dict[str, Any], field: str | None,
) -> None:  # fmt: skip
    # given a fan
    fan = await given_fan(db, world.partner_a)
    # when an award with a bad link is sent by a secret key
    input = {"fanId": fan["_id"], "pointName": "stars", "count": 5, **overrides}
    body = await gql(AWARD, {"input": input}, as_=a_secret)
    # then it names the field and stores nothing
    if field is None:  # an unknown enum value fails GraphQL validation
        assert body["data"] is None and body["errors"]
    else:
        assert only_error(body)["extensions"]["field"] == field
    assert await db.fan_point_awards.count_documents({}) == 0


async def test_award_refuses_public_key_other_tenant_and_foreign_activity(
    gql: GraphQL, world: World, db: Database, a_public: Persona
) -> None:
    # given a fan of each partner, an activity of A's fan and one of another fan of A
    fan = await given_fan(db, world.partner_a, email="ada@example.com")
    other = await given_fan(db, world.partner_a)
    b_fan = await given_fan(db, world.partner_b)
    act = await gql(ACTIVITY, {"input": {"fanId": fan["_id"], "campaignTitle": "Quiz"}},
                    as_=world.a_owner)  # fmt: skip
    activity_id = act["data"]["createFanActivity"]["id"]
    b_secret = await key_persona(db, world.partner_b, "secret", ["crm"])
    segments_only = await key_persona(db, world.partner_a, "secret", ["segments"])
    input = {"fanId": fan["_id"], "pointName": "stars", "count": 5, "activityId": activity_id}
    # then a public key, a key without the crm scope, an analyst are forbidden
    for persona in (a_public, segments_only, world.a_analyst, world.a_app):
        body = await gql(AWARD, {"input": input}, as_=persona)
        assert error_codes(body) == ["FORBIDDEN"], persona.name
    # and another partner's secret key does not find the fan
    body = await gql(AWARD, {"input": input}, as_=b_secret)
    assert only_error(body)["extensions"] == {"code": "NOT_FOUND", "field": "fanId"}
    # and an activity of another fan (or of B) is refused
    body = await gql(AWARD, {"input": {**input, "fanId": other["_id"]}}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "activityId"}
    body = await gql(AWARD, {"input": {**input, "fanId": b_fan["_id"]}}, as_=b_secret)
    assert only_error(body)["extensions"] == {"code": "NOT_FOUND", "field": "activityId"}
    assert await db.fan_point_awards.count_documents({}) == 0


async def test_award_with_every_link_by_a_secret_key(
    gql: GraphQL, world: World, db: Database, a_secret: Persona
) -> None:
    # given a fan with an activity
    fan = await given_fan(db, world.partner_a)
    act = await gql(ACTIVITY, {"input": {"fanId": fan["_id"], "campaignTitle": "Quiz"}},
                    as_=a_secret)  # fmt: skip
    activity_id = act["data"]["createFanActivity"]["id"]
    # when a secret crm key awards points with every link
    input = {"fanId": fan["_id"], "pointName": "tokens", "count": -4, "pointType": "ATVENU",
             "rewardId": "rwd-1", "campaignId": "tab-9", "activityId": activity_id,
             "sessionId": "sess-1", "awardKey": "k-1"}  # fmt: skip
    body = await gql(AWARD, {"input": input}, as_=a_secret)
    # then every link is stored and returned
    out = body["data"]["awardFanPoints"]
    assert out["duplicate"] is False
    award = out["award"]
    assert {k: award[k] for k in ("pointName", "count", "pointType", "awardKey", "rewardId",
                                  "campaignId", "activityId", "sessionId", "day")} == {
        "pointName": "tokens", "count": -4, "pointType": "ATVENU", "awardKey": "k-1",
        "rewardId": "rwd-1", "campaignId": "tab-9", "activityId": activity_id,
        "sessionId": "sess-1", "day": TODAY,
    }  # fmt: skip
    assert award["fan"] == {"id": fan["_id"]}
    # and the default type is POINTS
    body = await gql(AWARD, {"input": {"fanId": fan["_id"], "pointName": "stars", "count": 1}},
                     as_=a_secret)  # fmt: skip
    assert body["data"]["awardFanPoints"]["award"]["pointType"] == "POINTS"


async def test_award_key_races_store_one_award_per_partner(
    gql: GraphQL, world: World, db: Database, a_secret: Persona
) -> None:
    # given a fan of each partner
    fan = await given_fan(db, world.partner_a)
    b_fan = await given_fan(db, world.partner_b)
    b_secret = await key_persona(db, world.partner_b, "secret", ["crm"])
    a_input = {"fanId": fan["_id"], "pointName": "stars", "count": 3, "awardKey": "same",
               "campaignId": "tab-1"}  # fmt: skip
    b_input = {**a_input, "fanId": b_fan["_id"]}
    # when both partners send the same key eight times at once, interleaved
    bodies = await asyncio.gather(*(
        gql(AWARD, {"input": a_input if i % 2 else b_input}, as_=a_secret if i % 2 else b_secret)
        for i in range(16)
    ))  # fmt: skip
    # then each partner stored one award and every answer names it
    for partner in (world.partner_a, world.partner_b):
        assert await db.fan_point_awards.count_documents({"partner_id": partner}) == 1
    outcomes = [b["data"]["awardFanPoints"] for b in bodies]
    assert sorted(o["duplicate"] for o in outcomes) == [False] * 2 + [True] * 14
    assert len({o["award"]["id"] for o in outcomes}) == 2


# --- fanPointAwards --------------------------------------------------------------------


async def test_award_list_rejections_and_guards(
    gql: GraphQL, world: World, db: Database, a_public: Persona
) -> None:
    for variables, field in (
        (window("2026-02-01", "2026-01-01"), "endDate"),
        (window("2024-01-01", "2026-01-01"), "endDate"),
        (window(fanId="tkt_x"), "fanId"),
        (window(pointName="p" * 65), "pointName"),
        ({**window(), "first": 101}, "first"),
    ):
        body = await gql(AWARDS, variables, as_=world.a_analyst)
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.a_member, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(AWARDS, window(), as_=persona)) == [code]
    # a public key reads
    fan = await given_fan(db, world.partner_a)
    await insert_award(db, fan, "stars", 2, TODAY)
    body = await gql(AWARDS, window(), as_=a_public)
    assert body["data"]["fanPointAwards"]["totalCount"] == 1


async def test_award_list_window_filters_and_tenants(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given interleaved awards of two partners over four days, two types and two names
    ada = await given_fan(db, world.partner_a, display_name="Ada")
    bo = await given_fan(db, world.partner_a)
    b_fan = await given_fan(db, world.partner_b)
    rows = [(ada, "stars", "2026-01-01", "points"), (b_fan, "stars", "2026-01-01", "points"),
            (bo, "stars", "2026-01-02", "atvenu"), (b_fan, "stars", "2026-01-02", "points"),
            (ada, "badges", "2026-01-03", "points"), (bo, "stars", "2026-01-04", "points")]
    ids = [await insert_award(db, f, p, 1, d, t) for f, p, d, t in rows]
    # then A sees its own in the window, oldest day first
    body = await gql(AWARDS, window("2026-01-01", "2026-01-03"), as_=world.a_analyst)
    assert [n["id"] for n in nodes(body)] == [ids[0], ids[2], ids[4]]
    assert nodes(body)[0]["fan"] == {"id": ada["_id"], "displayName": "Ada"}
    body = await gql(AWARDS, window("2026-01-01", "2026-01-03"), as_=world.b_owner)
    assert [n["id"] for n in nodes(body)] == [ids[1], ids[3]]
    # filters by point, fan, leaderboard type
    body = await gql(AWARDS, window("2026-01-01", "2026-01-04", pointName="stars"),
                     as_=world.a_analyst)  # fmt: skip
    assert [n["id"] for n in nodes(body)] == [ids[0], ids[2], ids[5]]
    body = await gql(AWARDS, window("2026-01-01", "2026-01-04", fanId=bo["_id"]),
                     as_=world.a_analyst)  # fmt: skip
    assert [n["id"] for n in nodes(body)] == [ids[2], ids[5]]
    body = await gql(AWARDS, window("2026-01-01", "2026-01-04", leaderboard=True,
                                    fanId=bo["_id"]), as_=world.a_analyst)  # fmt: skip
    assert [n["id"] for n in nodes(body)] == [ids[5]]
    # another partner's fan finds nothing; operators see both partners
    body = await gql(AWARDS, window("2026-01-01", "2026-01-04", fanId=b_fan["_id"]),
                     as_=world.a_analyst)  # fmt: skip
    assert nodes(body) == []
    body = await gql(AWARDS, window("2026-01-01", "2026-01-04"), as_=world.operator)
    assert body["data"]["fanPointAwards"]["totalCount"] == 6


async def test_award_list_costs_the_same_commands_for_any_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    fans = [await given_fan(db, world.partner_a) for _ in range(25)]
    for fan in fans:
        await insert_award(db, fan, "stars", 1, TODAY)
    counts = []
    for first in (2, 25):
        commands.start()
        body = await gql(AWARDS, {**window(), "first": first}, as_=world.a_owner)
        assert len(nodes(body)) == first
        assert body["data"]["fanPointAwards"]["totalCount"] == 25
        counts.append(commands.total)
    assert counts[0] == counts[1]


AWARD_ROWS = st.lists(
    st.fixed_dictionaries({
        "partner": st.sampled_from("AB"), "fan": st.integers(0, 2),
        "point": st.sampled_from(["stars", "badges"]), "day": st.integers(0, 6),
        "type": st.sampled_from(["points", "atvenu"]), "count": st.integers(-50, 50),
    }),
    max_size=15,
)  # fmt: skip
QUERIES = st.fixed_dictionaries({
    "lo": st.integers(0, 6), "span": st.integers(0, 6),
    "point": st.none() | st.sampled_from(["stars", "badges"]),
    "fan": st.none() | st.integers(0, 2), "leaderboard": st.booleans(),
})  # fmt: skip


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=AWARD_ROWS, q=QUERIES)
async def test_award_list_matches_an_oracle(
    gql: GraphQL, world: World, db: Database, rows: list[dict[str, Any]], q: dict[str, Any]
) -> None:
    # given generated awards of three fans per partner
    await db.fan_point_awards.delete_many({})
    await db.fans.delete_many({})
    start = date(2026, 3, 1)
    fans = {(p, i): await given_fan(db, world.partner_a if p == "A" else world.partner_b)
            for p in "AB" for i in range(3)}  # fmt: skip
    stored = []
    for row in rows:
        day = (start + timedelta(days=row["day"])).isoformat()
        award_id = await insert_award(db, fans[(row["partner"], row["fan"])], row["point"],
                                      row["count"], day, row["type"])  # fmt: skip
        stored.append({**row, "id": award_id, "day_s": day})
    # when A lists a window with filters, all in one page
    lo, hi = q["lo"], q["lo"] + q["span"]
    filter: dict[str, Any] = {"startDate": (start + timedelta(days=lo)).isoformat(),
                              "endDate": (start + timedelta(days=hi)).isoformat(),
                              "leaderboard": q["leaderboard"]}  # fmt: skip
    if q["point"]:
        filter["pointName"] = q["point"]
    if q["fan"] is not None:
        filter["fanId"] = fans[("A", q["fan"])]["_id"]
    body = await gql(AWARDS, {**filter, "first": 100}, as_=world.a_analyst)
    # then the ids, order, count and point sum equal the oracle's
    expected = sorted(
        (r for r in stored if r["partner"] == "A" and lo <= r["day"] <= hi
         and (q["point"] is None or r["point"] == q["point"])
         and (q["fan"] is None or r["fan"] == q["fan"])
         and (not q["leaderboard"] or r["type"] == "points")),
        key=lambda r: (r["day_s"], r["id"]),
    )  # fmt: skip
    got = nodes(body)
    assert [n["id"] for n in got] == [r["id"] for r in expected]
    assert body["data"]["fanPointAwards"]["totalCount"] == len(expected)
    assert sum(n["count"] for n in got) == sum(r["count"] for r in expected)


# --- checkDisplayName ------------------------------------------------------------------


async def test_display_name_guards(gql: GraphQL, world: World, a_public: Persona) -> None:
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.a_member, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(CHECK, {"name": "Ada"}, as_=persona)) == [code]
    body = await gql(CHECK, {"name": "Ada"}, as_=world.operator)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "partnerId"}
    body = await gql(CHECK, {"name": "Ada"}, as_=a_public)
    assert body["data"]["checkDisplayName"] == {"displayName": "Ada", "available": True}
