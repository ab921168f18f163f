"""CRM awarded-points list (date window, point, fan) and the display-name check (seed 002)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.storage.mongo import Database, Document
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan

AWARDS = """
query($start: Date!, $end: Date!, $point: String, $fanId: ID, $first: Int, $after: String) {
  fanPointAwards(startDate: $start, endDate: $end, pointName: $point, fanId: $fanId,
                 first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id pointName count awardKey createdAt fan { id displayName } } }
  }
}"""
CHECK = """
query($name: String!, $partnerId: ID) {
  checkDisplayName(displayName: $name, partnerId: $partnerId) { displayName available }
}"""


async def given_award(db: Database, fan: Document, day: str, point: str, count: int,
                      n: int) -> str:  # fmt: skip
    award_id = f"fpa_t{n:04d}{fan['_id'][-6:]}"
    await db.fan_point_awards.insert_one({
        "_id": award_id, "partner_id": fan["partner_id"], "fan_id": fan["_id"],
        "point_name": point, "count": count, "fan_point": f"{fan['_id']}|{point}", "day": day,
        "created_at": fan["created_at"],
    })  # fmt: skip
    return award_id


def listed(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    return [e["node"]["id"] for e in body["data"]["fanPointAwards"]["edges"]]


async def test_awards_list_by_window_point_and_fan_within_the_partner(
    gql: GraphQL, world: World, db: Database
) -> None:
    ada = await given_fan(db, world.partner_a)
    bob = await given_fan(db, world.partner_a)
    other = await given_fan(db, world.partner_b)
    rows = [(ada, "2026-01-01", "stars"), (other, "2026-01-02", "stars"),
            (bob, "2026-01-02", "badges"), (ada, "2026-01-03", "stars"),
            (other, "2026-01-03", "stars"), (bob, "2026-02-01", "stars")]  # fmt: skip
    ids = [await given_award(db, fan, day, point, 5, i) for i, (fan, day, point) in enumerate(rows)]
    window = {"start": "2026-01-01", "end": "2026-01-31"}
    body = await gql(AWARDS, window, as_=world.a_analyst)
    assert sorted(listed(body)) == sorted([ids[0], ids[2], ids[3]])
    assert body["data"]["fanPointAwards"]["totalCount"] == 3
    assert listed(await gql(AWARDS, {**window, "point": "stars"}, as_=world.a_analyst)) == [
        ids[0], ids[3]
    ]
    assert listed(await gql(AWARDS, {**window, "fanId": bob["_id"]}, as_=world.a_analyst)) == [
        ids[2]
    ]
    # paging walks the same rows, oldest day first
    page1 = (await gql(AWARDS, {**window, "first": 2}, as_=world.a_owner))["data"]["fanPointAwards"]
    page2 = await gql(AWARDS, {**window, "first": 2, "after": page1["pageInfo"]["endCursor"]},
                      as_=world.a_owner)  # fmt: skip
    walked = [e["node"]["id"] for e in page1["edges"]] + listed(page2)
    assert walked[0] == ids[0] and sorted(walked) == sorted([ids[0], ids[2], ids[3]])
    # B sees its own only; another partner's fan id finds nothing
    assert sorted(listed(await gql(AWARDS, window, as_=world.b_owner))) == sorted([ids[1], ids[4]])
    assert listed(await gql(AWARDS, {**window, "fanId": other["_id"]}, as_=world.a_owner)) == []


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"start": "2026-02-01", "end": "2026-01-01"}, "endDate"),
     ({"start": "2024-12-01", "end": "2026-01-01"}, "endDate"),
     ({"start": "2026-01-01", "end": "2026-01-02", "fanId": "tkt_notafan"}, "fanId"),
     ({"start": "2026-01-01", "end": "2026-01-02", "first": 101}, "first")],
)  # fmt: skip
async def test_awards_list_rejections(
    gql: GraphQL, world: World, variables: dict[str, Any], field: str
) -> None:
    body = await gql(AWARDS, variables, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    window = {"start": "2026-01-01", "end": "2026-01-02"}
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.anonymous, "UNAUTHENTICATED")):
        assert error_codes(await gql(AWARDS, window, as_=persona)) == [code]


async def test_awards_list_costs_the_same_commands_for_any_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    for i in range(25):
        fan = await given_fan(db, world.partner_a)
        await given_award(db, fan, "2026-01-05", "stars", 1, i)
    counts = []
    for first in (2, 25):
        commands.start()
        body = await gql(AWARDS, {"start": "2026-01-01", "end": "2026-01-31", "first": first},
                         as_=world.a_owner)  # fmt: skip
        assert len(listed(body)) == first
        counts.append(commands.total)
    assert counts[0] == counts[1]


async def test_display_name_check_refuses_invalid_and_suggests_when_taken(
    gql: GraphQL, world: World, db: Database
) -> None:
    for bad in ("ab", "x" * 33, "no<html>", "two  spaces", "tab\there"):
        body = await gql(CHECK, {"name": bad}, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "displayName"}
    assert error_codes(await gql(CHECK, {"name": "Ada"}, as_=world.a_app)) == ["FORBIDDEN"]
    body = await gql(CHECK, {"name": "Ada"}, as_=world.operator)
    assert only_error(body)["extensions"]["field"] == "partnerId"
    # free: as asked; taken (by this partner only): the first free numbered variant
    assert (await gql(CHECK, {"name": " Ada "}, as_=world.a_owner))["data"]["checkDisplayName"] == {
        "displayName": "Ada", "available": True
    }
    await given_fan(db, world.partner_a, display_name="Ada")
    await given_fan(db, world.partner_a, display_name="Ada2")
    await given_fan(db, world.partner_b, display_name="Bob")
    assert (await gql(CHECK, {"name": "Ada"}, as_=world.a_owner))["data"]["checkDisplayName"] == {
        "displayName": "Ada3", "available": False
    }
    assert (await gql(CHECK, {"name": "Bo Lee"}, as_=world.a_analyst))["data"][
        "checkDisplayName"
    ]["available"] is True
    assert (await gql(CHECK, {"name": "Bob"}, as_=world.a_analyst))["data"]["checkDisplayName"][
        "available"
    ] is True
