"""CRM incremental sync (seed 002): latest updated fans paged by the seed's time keys."""

from __future__ import annotations

from typing import Any

from gateway.storage.mongo import Database
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan

UPDATED = """
query($date: Date, $key: String, $first: Int, $after: String) {
  updatedFans(lastUpdateDate: $date, minTimeKey: $key, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id fanTimeKey updatedAt tickets(first: 2) { totalCount } points { total } } }
  }
}"""
UPDATE_FAN = "mutation($id: ID!) { updateFan(id: $id, input: {firstName: \"Changed\"}) { id } }"


def page(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]["updatedFans"]  # type: ignore[no-any-return]


async def test_updated_fans_walk_by_time_key_and_see_later_changes(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given fans of two partners changed at known times (interleaved)
    mine = []
    for i in range(7):
        partner = world.partner_a if i % 3 else world.partner_b
        fan = await given_fan(db, partner)
        await db.fans.update_one({"_id": fan["_id"]}, {"$set": {"updated_ms": 1_780_000_000_000
                                                                 + i * 1500}})  # fmt: skip
        if partner == world.partner_a:
            mine.append(fan["_id"])
    # when A syncs two at a time with the seed's time keys
    seen: list[str] = []
    key = None
    while True:
        got = page(await gql(UPDATED, {"first": 2, "key": key}, as_=world.a_owner))
        nodes = [e["node"] for e in got["edges"]]
        seen += [n["id"] for n in nodes]
        if not got["pageInfo"]["hasNextPage"]:
            break
        key = nodes[-1]["fanTimeKey"]
    # then it saw only its own fans, oldest change first, each once
    assert seen == mine
    assert nodes[-1]["fanTimeKey"].endswith("_" + mine[-1])
    first_key = page(await gql(UPDATED, {"first": 1}, as_=world.a_owner))["edges"][0]["node"]
    assert first_key["fanTimeKey"] == f"1780000001_500_{mine[0]}"
    # and a fan changed after the sync shows up after the last key seen
    last_key = nodes[-1]["fanTimeKey"]
    assert page(await gql(UPDATED, {"key": last_key}, as_=world.a_owner))["edges"] == []
    await gql(UPDATE_FAN, {"id": mine[0]}, as_=world.a_owner)
    got = page(await gql(UPDATED, {"key": last_key}, as_=world.a_owner))
    assert [e["node"]["id"] for e in got["edges"]] == [mine[0]]
    # a cursor continues the same walk
    cursor = page(await gql(UPDATED, {"first": 3}, as_=world.a_owner))["pageInfo"]["endCursor"]
    rest = page(await gql(UPDATED, {"after": cursor, "first": 100}, as_=world.a_owner))
    assert len(rest["edges"]) == len(mine) - 3


async def test_updated_fans_since_a_day(gql: GraphQL, world: World, db: Database) -> None:
    old = await given_fan(db, world.partner_a)
    new = await given_fan(db, world.partner_a)
    await db.fans.update_one({"_id": old["_id"]}, {"$set": {"updated_ms": 1_700_000_000_000}})
    got = page(await gql(UPDATED, {"date": "2024-01-01"}, as_=world.a_analyst))
    assert [e["node"]["id"] for e in got["edges"]] == [new["_id"]]
    assert got["totalCount"] == 1


async def test_updated_fans_rejections(gql: GraphQL, world: World) -> None:
    for variables, field in (({"key": "yesterday"}, "minTimeKey"),
                             ({"key": "1780000001_5_fan_x"}, "minTimeKey"),
                             ({"key": "1780000001_500_fan_x", "after": "abc"}, "minTimeKey"),
                             ({"first": 1001}, "first"), ({"first": 0}, "first"),
                             ({"after": "not-a-cursor"}, "after")):  # fmt: skip
        body = await gql(UPDATED.replace("tickets(first: 2) { totalCount } points { total }", ""),
                         variables, as_=world.a_owner)  # fmt: skip
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.a_member, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(UPDATED, {}, as_=persona)) == [code]


async def test_updated_fans_cost_the_same_commands_for_any_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    for _ in range(25):
        await given_fan(db, world.partner_a)
    counts = []
    for first in (2, 25):
        commands.start()
        got = page(await gql(UPDATED, {"first": first}, as_=world.a_owner))
        assert len(got["edges"]) == first
        counts.append(commands.total)
    assert counts[0] == counts[1]
