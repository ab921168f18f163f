"""CRM activities, ticket events, points and leaderboards."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.storage.mongo import Database
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan

CREATE_ACTIVITY = """
mutation($input: CreateFanActivityInput!) {
  createFanActivity(input: $input) { id sequence campaignTitle props { key value } date
                                     fan { id email } }
}"""
ACTIVITIES = """
query($campaignTitle: String, $date: Date, $fanId: ID, $first: Int, $after: String) {
  activities(campaignTitle: $campaignTitle, date: $date, fanId: $fanId, first: $first,
             after: $after, order: ASC) {
    totalCount pageInfo { endCursor hasNextPage }
    edges { node { sequence campaignTitle fan { id } } }
  }
}"""
UPSERT_EVENT = """
mutation($input: UpsertTicketEventInput!) {
  upsertTicketEvent(input: $input) { id action status event { eventName eventKey venueName } }
}"""
EVENTS = """
query($eventName: String, $venueName: String, $eventDate: Date) {
  ticketEvents(eventName: $eventName, venueName: $venueName, eventDate: $eventDate) {
    totalCount edges { node { id eventName eventDate } }
  }
}"""
AWARD = """
mutation($input: AwardFanPointsInput!) {
  awardFanPoints(input: $input) { duplicate award { id count pointName awardKey fan { id } } }
}"""
FAN_POINTS = "query($id: ID!) { fan(id: $id) { points { pointName total } } }"
LEADERBOARD = """
query($name: String!, $start: Date, $end: Date, $first: Int) {
  leaderboard(pointName: $name, startDate: $start, endDate: $end, first: $first) {
    rank fanId displayName points
  }
}"""


# --- activities ------------------------------------------------------------------------


async def test_create_activity_rejections(gql: GraphQL, world: World, db: Database) -> None:
    fan = await given_fan(db, world.partner_a)
    b_fan = await given_fan(db, world.partner_b)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"campaignTitle": "", "fanId": fan["_id"]}, "campaignTitle"),
        ({"campaignTitle": "Quiz"}, "fanId"),
        ({"campaignTitle": "Quiz", "fanId": fan["_id"], "email": "a@b.io"}, "fanId"),
        ({"campaignTitle": "Quiz", "fanId": "bad"}, "fanId"),
        ({"campaignTitle": "Quiz", "email": "bad"}, "email"),
        ({"campaignTitle": "Quiz", "fanId": fan["_id"],
          "props": [{"key": "a.b", "value": "1"}]}, "props"),
    ]  # fmt: skip
    for input, field in cases:
        body = await gql(CREATE_ACTIVITY, {"input": input}, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, input
    ok = {"campaignTitle": "Quiz", "fanId": fan["_id"]}
    for persona, code in (("a_analyst", "FORBIDDEN"), ("a_app", "FORBIDDEN"),
                          ("anonymous", "UNAUTHENTICATED")):  # fmt: skip
        body = await gql(CREATE_ACTIVITY, {"input": ok}, as_=getattr(world, persona))
        assert error_codes(body) == [code]
    body = await gql(CREATE_ACTIVITY, {"input": {**ok, "fanId": b_fan["_id"]}}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.fan_activities.count_documents({}) == 0


async def test_activities_by_id_or_email_in_sync_order(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a fan of partner A
    fan = await given_fan(db, world.partner_a, email="ada@example.com")
    # when activities arrive by id, by known email and by a new email
    a1 = await gql(CREATE_ACTIVITY, {"input": {"campaignTitle": "Quiz", "fanId": fan["_id"],
                   "props": [{"key": "score", "value": "9"}]}}, as_=world.a_owner)  # fmt: skip
    a2 = await gql(CREATE_ACTIVITY, {"input": {"campaignTitle": "Poll",
                   "email": "ADA@example.com"}}, as_=world.a_owner)  # fmt: skip
    a3 = await gql(CREATE_ACTIVITY, {"input": {"campaignTitle": "Quiz",
                   "email": "new@example.com"}}, as_=world.a_manager)  # fmt: skip
    first = a1["data"]["createFanActivity"]
    assert first["props"] == [{"key": "score", "value": "9"}]
    assert a2["data"]["createFanActivity"]["fan"]["id"] == fan["_id"]
    assert a3["data"]["createFanActivity"]["fan"]["email"] == "new@example.com"
    assert await db.fans.count_documents({"partner_id": world.partner_a}) == 2
    # then they list in ascending order, filterable, and a cursor resumes the sync
    body = await gql(ACTIVITIES, {}, as_=world.a_analyst)
    seqs = [e["node"]["sequence"] for e in body["data"]["activities"]["edges"]]
    assert seqs == sorted(seqs)
    assert len(seqs) == 3
    body = await gql(ACTIVITIES, {"campaignTitle": "Quiz"}, as_=world.a_analyst)
    assert body["data"]["activities"]["totalCount"] == 2
    body = await gql(ACTIVITIES, {"date": first["date"], "fanId": fan["_id"]}, as_=world.a_owner)
    assert body["data"]["activities"]["totalCount"] == 2
    body = await gql(ACTIVITIES, {"date": "2001-01-01"}, as_=world.a_owner)
    assert body["data"]["activities"]["totalCount"] == 0
    cursor = (await gql(ACTIVITIES, {}, as_=world.a_owner))["data"]["activities"]["pageInfo"][
        "endCursor"
    ]
    await gql(CREATE_ACTIVITY, {"input": {"campaignTitle": "Late", "fanId": fan["_id"]}},
              as_=world.a_owner)  # fmt: skip
    body = await gql(ACTIVITIES, {"after": cursor}, as_=world.a_owner)
    assert [e["node"]["campaignTitle"] for e in body["data"]["activities"]["edges"]] == ["Late"]
    # another partner sees none of them
    body = await gql(ACTIVITIES, {}, as_=world.b_owner)
    assert body["data"]["activities"]["totalCount"] == 0


async def _activities_page_commands(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter, n: int
) -> int:
    await db.fan_activities.delete_many({})
    for i in range(n):
        fan = await given_fan(db, world.partner_a)
        await db.fan_activities.insert_one({
            "_id": f"fac_n{n}x{i:04d}xxxx", "partner_id": world.partner_a, "seq": i,
            "fan_id": fan["_id"], "campaign_title": "Quiz", "props": {}, "day": "2026-01-05",
            "created_at": fan["created_at"],
        })  # fmt: skip
    commands.start()
    body = await gql(ACTIVITIES, {"first": n}, as_=world.a_owner)
    total = commands.total
    assert all(e["node"]["fan"]["id"] for e in body["data"]["activities"]["edges"])
    return total


async def test_activities_page_with_fans_is_not_n_plus_1(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    assert await _activities_page_commands(gql, world, db, commands, 2) == (
        await _activities_page_commands(gql, world, db, commands, 20)
    )


# --- ticket events ---------------------------------------------------------------------

EVENT = {"eventName": "Summer Show", "eventKey": "sum-1", "eventDate": "2026-07-01",
         "network": "tm", "venueName": "Arena"}  # fmt: skip


async def test_upsert_ticket_event_lifecycle(gql: GraphQL, world: World, db: Database) -> None:
    # rejections first
    for input, field in (({**EVENT, "eventName": ""}, "eventName"),
                         ({**EVENT, "network": " "}, "network"),
                         ({**EVENT, "action": "UPDATE"}, "id"),
                         ({"action": "DELETE"}, "id")):  # fmt: skip
        body = await gql(UPSERT_EVENT, {"input": input}, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert error_codes(await gql(UPSERT_EVENT, {"input": EVENT}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    assert error_codes(await gql(UPSERT_EVENT, {"input": EVENT}, as_=world.b_app)) == ["FORBIDDEN"]
    assert await db.ticket_events.count_documents({}) == 0
    # create, then the same network + key again is a conflict
    created = (await gql(UPSERT_EVENT, {"input": EVENT}, as_=world.a_owner))["data"][
        "upsertTicketEvent"
    ]
    assert created["action"] == "CREATE"
    assert created["status"] == "success"
    again = await gql(UPSERT_EVENT, {"input": EVENT}, as_=world.a_owner)
    assert only_error(again)["extensions"] == {"code": "CONFLICT", "field": "eventKey"}
    # another partner cannot update or delete it
    for action in ("UPDATE", "DELETE"):
        body = await gql(UPSERT_EVENT, {"input": {**EVENT, "action": action, "id": created["id"]}},
                         as_=world.b_owner)  # fmt: skip
        assert error_codes(body) == ["NOT_FOUND"]
    # update, list by name / venue / date, delete
    body = await gql(
        UPSERT_EVENT,
        {"input": {**EVENT, "action": "UPDATE", "id": created["id"], "venueName": "Stadium"}},
        as_=world.a_owner,
    )
    assert body["data"]["upsertTicketEvent"]["event"]["venueName"] == "Stadium"
    body = await gql(EVENTS, {"venueName": "Stadium", "eventDate": "2026-07-01"},
                     as_=world.a_analyst)  # fmt: skip
    assert body["data"]["ticketEvents"]["totalCount"] == 1
    assert (await gql(EVENTS, {"eventName": "Other"}, as_=world.a_analyst))["data"]["ticketEvents"][
        "totalCount"
    ] == 0
    assert (await gql(EVENTS, {}, as_=world.b_owner))["data"]["ticketEvents"]["totalCount"] == 0
    body = await gql(UPSERT_EVENT, {"input": {"action": "DELETE", "id": created["id"]}},
                     as_=world.a_owner)  # fmt: skip
    assert body["data"]["upsertTicketEvent"]["event"] is None
    assert await db.ticket_events.count_documents({}) == 0


# --- points ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"count": 0}, "count"), ({"count": 1_000_001}, "count"), ({"count": -1_000_001}, "count"),
     ({"pointName": ""}, "pointName"), ({"pointName": "a|b"}, "pointName"),
     ({"fanId": "fan_doesnotexist"}, "fanId")],
)  # fmt: skip
async def test_award_points_rejections(
    gql: GraphQL, world: World, db: Database, overrides: dict[str, Any], field: str
) -> None:
    fan = await given_fan(db, world.partner_a)
    input = {"fanId": fan["_id"], "pointName": "stars", "count": 5, **overrides}
    body = await gql(AWARD, {"input": input}, as_=world.a_owner)
    assert only_error(body)["extensions"]["field"] == field
    assert await db.fan_point_awards.count_documents({}) == 0


async def test_award_points_callers_and_tenancy(gql: GraphQL, world: World, db: Database) -> None:
    fan = await given_fan(db, world.partner_a)
    input = {"fanId": fan["_id"], "pointName": "stars", "count": 5}
    for persona, code in (("a_analyst", "FORBIDDEN"), ("a_member", "FORBIDDEN"),
                          ("b_owner", "NOT_FOUND"), ("anonymous", "UNAUTHENTICATED")):  # fmt: skip
        body = await gql(AWARD, {"input": input}, as_=getattr(world, persona))
        assert error_codes(body) == [code], persona
    assert await db.fan_point_awards.count_documents({}) == 0


async def test_award_key_counts_once_even_when_racing(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a fan
    fan = await given_fan(db, world.partner_a)
    input = {"fanId": fan["_id"], "pointName": "stars", "count": 10, "awardKey": "quiz-1"}
    # when the same keyed award is sent six times at once, plus an unkeyed negative one
    bodies = await asyncio.gather(*(gql(AWARD, {"input": input}, as_=world.a_owner)
                                    for _ in range(6)))  # fmt: skip
    await gql(AWARD, {"input": {**input, "awardKey": None, "count": -3}}, as_=world.a_owner)
    # then one award was counted and every answer names it
    outcomes = [b["data"]["awardFanPoints"] for b in bodies]
    assert sorted(o["duplicate"] for o in outcomes) == [False] + [True] * 5
    assert len({o["award"]["id"] for o in outcomes}) == 1
    assert await db.fan_point_awards.count_documents({}) == 2
    body = await gql(FAN_POINTS, {"id": fan["_id"]}, as_=world.a_analyst)
    assert body["data"]["fan"]["points"] == [{"pointName": "stars", "total": 7}]
    # the key used for another fan is a conflict
    other = await given_fan(db, world.partner_a)
    body = await gql(AWARD, {"input": {**input, "fanId": other["_id"]}}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "CONFLICT", "field": "awardKey"}


async def test_leaderboard_ranks_by_points_in_the_date_range(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given awards on hand-picked days
    ada = await given_fan(db, world.partner_a, display_name="Ada!")
    bob = await given_fan(db, world.partner_a, first_name="Bob", last_name="Stone")
    cy = await given_fan(db, world.partner_a)
    b_fan = await given_fan(db, world.partner_b)
    rows = [(ada, 5, "2026-01-01"), (ada, 5, "2026-01-20"), (bob, 10, "2026-01-02"),
            (cy, 3, "2026-01-03"), (cy, 50, "2026-02-01"), (b_fan, 99, "2026-01-02"),
            (ada, 100, "2026-01-02", "other")]  # fmt: skip
    for i, (fan, count, day, *name) in enumerate(rows):
        point = name[0] if name else "stars"
        await db.fan_point_awards.insert_one({
            "_id": f"fpa_lb{i:04d}xxxxxx", "partner_id": fan["partner_id"], "fan_id": fan["_id"],
            "point_name": point, "count": count, "fan_point": f"{fan['_id']}|{point}",
            "day": day, "created_at": fan["created_at"],
        })  # fmt: skip
    body = await gql(LEADERBOARD, {"name": "stars", "start": "2026-01-01", "end": "2026-01-31"},
                     as_=world.a_analyst)  # fmt: skip
    assert body["data"]["leaderboard"] == [
        {"rank": 1, "fanId": ada["_id"], "displayName": "Ada!", "points": 10},
        {"rank": 1, "fanId": bob["_id"], "displayName": "Bob S.", "points": 10},
        {"rank": 3, "fanId": cy["_id"], "displayName": "Fan", "points": 3},
    ] if ada["_id"] < bob["_id"] else [
        {"rank": 1, "fanId": bob["_id"], "displayName": "Bob S.", "points": 10},
        {"rank": 1, "fanId": ada["_id"], "displayName": "Ada!", "points": 10},
        {"rank": 3, "fanId": cy["_id"], "displayName": "Fan", "points": 3},
    ]  # fmt: skip
    body = await gql(LEADERBOARD, {"name": "stars", "start": "2026-02-01", "first": 1},
                     as_=world.a_analyst)  # fmt: skip
    assert body["data"]["leaderboard"] == [
        {"rank": 1, "fanId": cy["_id"], "displayName": "Fan", "points": 50}
    ]
    body = await gql(LEADERBOARD, {"name": "stars", "start": "2026-02-01", "end": "2026-01-01"},
                     as_=world.a_analyst)  # fmt: skip
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "endDate"}
    assert error_codes(await gql(LEADERBOARD, {"name": "stars"}, as_=world.a_app)) == ["FORBIDDEN"]
