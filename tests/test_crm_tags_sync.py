"""The seed's fan tags sync (`fanTags`): tag rows kept in step with fans' tags, creation windows,
two tenants, the 10,000 cap and the cost limit, an oracle over generated rows, N+1."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database
from loaders import crm as data
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan

TAGS = """
query($start: DateTime, $end: DateTime, $first: Int, $after: String) {
  fanTags(startDate: $start, endDate: $end, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { tagName tagId fanId createdAt firstName lastName } }
  }
}"""
WITH_FAN = """
query($first: Int) {
  fanTags(first: $first) { edges { node { tagName firstName fan { id tags } } } }
}"""
CREATE = """
mutation($input: CreateFanInput!) { createFan(input: $input) { id } }"""
UPDATE = """
mutation($id: ID!, $tags: [String!]) { updateFan(id: $id, input: {tags: $tags}) { id tags } }"""
DELETE = "mutation($id: ID!) { deleteFan(id: $id) }"


def nodes(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["fanTags"]["edges"]]


def pairs(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["fanId"], n["tagName"]) for n in nodes(body)]


async def test_tag_rows_follow_the_fans_tags_and_keep_their_creation_time(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a fan of A created with two tags, and one of B with the same tag (interleaved)
    body = await gql(CREATE, {"input": {"email": "t1@example.com", "firstName": "Tia",
                                        "lastName": "Tag", "tags": ["vip", "news"]}},
                     as_=world.a_owner)  # fmt: skip
    fan = body["data"]["createFan"]["id"]
    await gql(CREATE, {"input": {"email": "t2@example.com", "tags": ["vip"]}}, as_=world.b_owner)
    first = nodes(await gql(TAGS, {}, as_=world.a_owner))
    assert sorted((n["tagName"], n["tagId"], n["fanId"]) for n in first) == [
        ("news", "news", fan), ("vip", "vip", fan)]
    assert {(n["firstName"], n["lastName"]) for n in first} == {("Tia", "Tag")}
    created = {n["tagName"]: n["createdAt"] for n in first}
    await asyncio.sleep(0.01)
    # when A drops one tag and adds another
    await gql(UPDATE, {"id": fan, "tags": ["vip", "gold"]}, as_=world.a_owner)
    # then the kept tag keeps its time, the dropped one is gone, the new one is later
    now = {n["tagName"]: n["createdAt"] for n in nodes(await gql(TAGS, {}, as_=world.a_owner))}
    assert set(now) == {"vip", "gold"}
    assert now["vip"] == created["vip"]
    assert now["gold"] > created["vip"]
    # only the new tag is after the first creation time (bounds are exclusive)
    body = await gql(TAGS, {"start": created["vip"]}, as_=world.a_owner)
    assert pairs(body) == [(fan, "gold")]
    body = await gql(TAGS, {"end": now["gold"]}, as_=world.a_owner)
    assert pairs(body) == [(fan, "vip")]
    # updating other fields leaves the rows alone; deleting the fan drops them
    await gql(UPDATE.replace("tags: $tags", "firstName: \"T\""), {"id": fan, "tags": None},
              as_=world.a_owner)  # fmt: skip
    assert len(nodes(await gql(TAGS, {}, as_=world.a_owner))) == 2
    await gql(DELETE, {"id": fan}, as_=world.a_owner)
    assert nodes(await gql(TAGS, {}, as_=world.a_owner)) == []
    # B still has its own
    assert [n["tagName"] for n in nodes(await gql(TAGS, {}, as_=world.b_owner))] == ["vip"]
    assert len(nodes(await gql(TAGS, {}, as_=world.operator))) == 1


async def test_fan_tags_rejections_and_guards(gql: GraphQL, world: World) -> None:
    late, early = "2026-02-02T00:00:00+00:00", "2026-02-01T00:00:00+00:00"
    for variables, field in (({"start": late, "end": early}, "endDate"),
                             ({"start": late, "end": late}, "endDate"),
                             ({"first": 0}, "first"), ({"after": "nope"}, "after")):  # fmt: skip
        body = await gql(TAGS, variables, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    small = "query($f: Int) { fanTags(first: $f) { edges { node { tagName } } } }"
    assert "errors" not in await gql(small, {"f": 3000}, as_=world.a_owner)
    assert error_codes(await gql(small, {"f": 10_001}, as_=world.a_owner)) != []
    assert error_codes(await gql(TAGS, {"first": 10_000}, as_=world.a_owner)) == [
        "OPERATION_TOO_COMPLEX"]
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.a_member, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(TAGS, {}, as_=persona)) == [code]


async def test_fan_tags_cost_the_same_commands_for_any_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    for i in range(13):
        await given_fan(db, world.partner_a, tags=["a", "b"], first_name=f"F{i}")
    counts = []
    for first in (2, 25):
        commands.start()
        got = nodes(await gql(WITH_FAN, {"first": first}, as_=world.a_owner))
        assert len(got) == first
        assert all(n["fan"]["tags"] == ["a", "b"] for n in got)
        counts.append(commands.total)
    assert counts[0] == counts[1]


# --- windows against an oracle, and the mirror against the fans' tags ---------------------

T0 = datetime(2026, 5, 1, tzinfo=UTC)
ROW = st.fixed_dictionaries({"partner": st.sampled_from("AAB"), "at": st.integers(0, 20),
                             "tag": st.sampled_from(["x", "y", "z"])})  # fmt: skip
WINDOW = st.fixed_dictionaries({"first": st.integers(1, 4)},
                               optional={"start": st.integers(0, 20), "end": st.integers(0, 20)})


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=st.lists(ROW, max_size=14), windows=st.lists(
    WINDOW.filter(lambda w: w.get("end", 99) > w.get("start", -1)), min_size=1, max_size=3))
async def test_fan_tag_windows_match_a_python_oracle(
    gql: GraphQL, world: World, db: Database, rows: list[dict[str, Any]],
    windows: list[dict[str, Any]],
) -> None:  # fmt: skip
    # given tag rows of two partners at generated times (several per second)
    await db.fan_tags.delete_many({})
    docs = []
    for i, r in enumerate(rows):
        partner = world.partner_a if r["partner"] == "A" else world.partner_b
        docs.append({"_id": f"fan_g{i:02d}|{r['tag']}", "partner_id": partner,
                     "fan_id": f"fan_g{i:02d}", "tag": r["tag"],
                     "created_ms": data.to_ms(T0) + r["at"] * 300})  # fmt: skip
    if docs:
        await db.fan_tags.insert_many(docs)
    for w in windows:
        variables = {k: (T0 + timedelta(milliseconds=w[k] * 300)).isoformat()
                     for k in ("start", "end") if k in w}  # fmt: skip
        # when A walks the window page by page
        seen: list[str] = []
        after = None
        while True:
            body = await gql(TAGS, {**variables, "first": w["first"], "after": after},
                             as_=world.a_analyst)  # fmt: skip
            seen += [f"{n['fanId']}|{n['tagName']}" for n in nodes(body)]
            info = body["data"]["fanTags"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        # then it saw the oracle's rows, oldest first, and counted them
        want = sorted((d for d, r in zip(docs, rows, strict=True) if r["partner"] == "A"
                       and w.get("start", -1) < r["at"] < w.get("end", 99)),
                      key=lambda d: (d["created_ms"], d["_id"]))  # fmt: skip
        assert seen == [d["_id"] for d in want], w
        assert body["data"]["fanTags"]["totalCount"] == len(want), w


@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(steps=st.lists(st.tuples(st.integers(0, 2), st.lists(st.sampled_from("pqrs"),
                                                           unique=True, max_size=3)),
                      min_size=1, max_size=6))  # fmt: skip
async def test_tag_rows_mirror_the_fans_tags_after_any_updates(
    gql: GraphQL, world: World, db: Database, steps: list[tuple[int, list[str]]]
) -> None:
    await db.fans.delete_many({})
    await db.fan_tags.delete_many({})
    fans = [(await given_fan(db, world.partner_a, tags=["p"]))["_id"] for _ in range(3)]
    for who, tags in steps:
        assert "errors" not in await gql(UPDATE, {"id": fans[who], "tags": tags},
                                         as_=world.a_owner)  # fmt: skip
    want = sorted((f["_id"], t) for f in await db.fans.find({}).to_list(None) for t in f["tags"])
    body = await gql(TAGS, {"first": 100}, as_=world.a_owner)
    assert sorted(pairs(body)) == want
