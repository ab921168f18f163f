"""CRM activities (seed 002): the activity's seed fields stored by `createFanActivity`, the
id-window sync list (both orders, page 200, filters, include_details) and the aggregate
counters (against a Python oracle)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database, Document
from loaders import crm as data
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan

SUBMIT = """
mutation($input: CreateFanActivityInput!) {
  createFanActivity(input: $input) {
    id sequence partnerId fanId campaignTitle campaignId appType streamKey props { key value }
    date createdAt ipAddress userKey name isSubscribed isPhoneSubscribed businessOptIns
    networks idolNames durationMs correctCount fanNetworks fanIdolNames fan { id }
  }
}"""
SYNC = """
query($min: Int, $max: Int, $order: SyncOrder, $campaignId: String, $date: Date,
      $fanId: ID, $first: Int, $after: String) {
  activities(minSequence: $min, maxSequence: $max, order: $order, campaignId: $campaignId,
             date: $date, fanId: $fanId, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { sequence partnerId campaignId } }
  }
}"""
DETAILS = """
query($first: Int) {
  activities(first: $first) {
    edges { node { id fan { id email } fanNetworks fanIdolNames networks idolNames } }
  }
}"""
COUNTERS = """
query($campaignTitle: String, $propertyName: String, $partnerId: ID) {
  activityCounters(campaignTitle: $campaignTitle, propertyName: $propertyName,
                   partnerId: $partnerId) { partnerId campaignTitle propertyName counter }
}"""


async def given_campaign(db: Database, partner_id: str, key: str = "tab-quiz",
                         title: str = "Quiz") -> Document:  # fmt: skip
    doc, _ = await data.campaigns.upsert_campaign(db, partner_id, key, {
        "title": title, "title_lower": title.lower(), "app_type": "trivia",
        "stream_key": "stream-1", "is_active": True, "winner_fan_id": "",
    })  # fmt: skip
    return doc


# --- createFanActivity: the seed's activity fields -----------------------------------------


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [({"ipAddress": "999.1.2.3"}, "BAD_USER_INPUT", "ipAddress"),
     ({"ipAddress": "10.0.0.1; drop"}, "BAD_USER_INPUT", "ipAddress"),
     ({"networks": ["Face Book"]}, "BAD_USER_INPUT", "networks"),
     ({"networks": [f"n{i}" for i in range(21)]}, "BAD_USER_INPUT", "networks"),
     ({"idolNames": [" "]}, "BAD_USER_INPUT", "idolNames"),
     ({"idolNames": [f"Idol {i}" for i in range(51)]}, "BAD_USER_INPUT", "idolNames"),
     ({"userKey": "k" * 201}, "BAD_USER_INPUT", "userKey"),
     ({"appType": "t" * 65}, "BAD_USER_INPUT", "appType"),
     ({"durationMs": -1}, "BAD_USER_INPUT", "durationMs"),
     ({"correctCount": -1}, "BAD_USER_INPUT", "correctCount"),
     ({"campaignId": "has space"}, "BAD_USER_INPUT", "campaignId"),
     ({"campaignId": "tab-nope"}, "NOT_FOUND", "campaignId"),
     ({"campaignId": "tab-b"}, "NOT_FOUND", "campaignId"),
     ({"campaignId": "tab-quiz", "campaignTitle": "Other"}, "BAD_USER_INPUT", "campaignTitle"),
     ({"campaignTitle": None}, "BAD_USER_INPUT", "campaignTitle")],
)  # fmt: skip
async def test_submit_rejects_bad_activity_fields_and_writes_nothing(
    gql: GraphQL, world: World, db: Database, extra: dict[str, Any], code: str, field: str
) -> None:
    # given a fan and a campaign of A, and a campaign of B
    fan = await given_fan(db, world.partner_a)
    before = await db.fans.find_one({"_id": fan["_id"]})
    await given_campaign(db, world.partner_a)
    await given_campaign(db, world.partner_b, "tab-b", "B quiz")
    for who in ({"email": "new@example.com"}, {"fanId": fan["_id"]}):
        # when a submit carries one bad field
        body = await gql(SUBMIT, {"input": {"campaignTitle": "Quiz", **who, **extra}},
                         as_=world.a_owner)  # fmt: skip
        # then it is refused naming the field, and nothing is written
        assert only_error(body)["extensions"] == {"code": code, "field": field}
    assert await db.fan_activities.count_documents({}) == 0
    assert await db.fans.count_documents({}) == 1
    # (fans carry empty networks / idols since the search profile: unchanged is the check)
    assert await db.fans.find_one({"_id": fan["_id"]}) == before


async def test_submit_stores_and_exposes_every_seed_field(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a campaign (contest) of A and a fan opted in to a business
    await given_campaign(db, world.partner_a)
    fan = await given_fan(db, world.partner_a, first_name="Ann", last_name="Lee",
                          is_subscribed=True, business_opt_ins=["biz-1"])  # fmt: skip
    # when two activities connect networks and idols, one of them in the contest
    first = {"campaignId": "tab-quiz", "fanId": fan["_id"], "ipAddress": " 2001:DB8::0:1 ",
             "userKey": "fb-123", "networks": ["Facebook", "spotify", "facebook"],
             "idolNames": ["Sunburst"], "durationMs": 41_500, "correctCount": 7,
             "props": [{"key": "score", "value": "9"}]}  # fmt: skip
    body = await gql(SUBMIT, {"input": first}, as_=world.a_owner)
    got = body["data"]["createFanActivity"]
    # then the activity carries the seed's fields, the contest's type and stream
    assert got == {
        "id": got["id"], "sequence": 1, "partnerId": world.partner_a, "fanId": fan["_id"],
        "campaignTitle": "Quiz", "campaignId": "tab-quiz", "appType": "trivia",
        "streamKey": "stream-1", "props": [{"key": "score", "value": "9"}],
        "date": got["date"], "createdAt": got["createdAt"], "ipAddress": "2001:db8::1",
        "userKey": "fb-123", "name": "Ann Lee", "isSubscribed": True,
        "isPhoneSubscribed": False, "businessOptIns": ["biz-1"],
        "networks": ["facebook", "spotify"], "idolNames": ["Sunburst"], "durationMs": 41_500,
        "correctCount": 7, "fanNetworks": ["facebook", "spotify"],
        "fanIdolNames": ["Sunburst"], "fan": {"id": fan["_id"]},
    }  # fmt: skip
    # and a later plain activity (with an opt-out sent) keeps its own fields, the fan's add up
    second = {"campaignTitle": "Poll", "fanId": fan["_id"], "ipAddress": "198.51.100.7",
              "networks": ["instagram"], "idolNames": ["Nocturne", "Sunburst"],
              "isSubscribed": False}  # fmt: skip
    got = (await gql(SUBMIT, {"input": second}, as_=world.a_owner))["data"]["createFanActivity"]
    assert (got["campaignId"], got["appType"], got["durationMs"], got["isSubscribed"]) == (
        None, None, None, False)
    assert got["ipAddress"] == "198.51.100.7"
    assert got["fanNetworks"] == ["facebook", "instagram", "spotify"]
    assert got["fanIdolNames"] == ["Nocturne", "Sunburst"]
    # and a fan of B gets none of them
    b_fan = await given_fan(db, world.partner_b)
    got = (await gql(SUBMIT, {"input": {"campaignTitle": "Quiz", "fanId": b_fan["_id"]}},
                     as_=world.b_owner))["data"]["createFanActivity"]  # fmt: skip
    assert (got["sequence"], got["fanNetworks"], got["fanIdolNames"]) == (1, [], [])


# --- the activities sync -----------------------------------------------------------------


async def _interleaved(db: Database, world: World, n: int) -> None:
    """n activities of A and n of B, inserted alternately (every third of A in a contest)."""
    fan_a = await given_fan(db, world.partner_a)
    fan_b = await given_fan(db, world.partner_b)
    for i in range(n):
        extra = {"campaign_id": "tab-quiz"} if i % 3 == 0 else {}
        await data.insert_activity(db, world.partner_a, fan_a, "Quiz", {}, extra)
        contest = {"campaign_id": "tab-quiz"}
        await data.insert_activity(db, world.partner_b, fan_b, "Quiz", {}, contest)


def _seqs(body: dict[str, Any]) -> list[int]:
    assert "errors" not in body, body
    return [e["node"]["sequence"] for e in body["data"]["activities"]["edges"]]


async def test_activities_sync_windows_orders_and_filters(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given 12 activities of A interleaved with 12 of B
    await _interleaved(db, world, 12)

    async def sync(**variables: Any) -> list[int]:
        return _seqs(await gql(SYNC, variables, as_=world.a_analyst))

    # then the first call is newest first, a min window reads forward, a max window backward
    assert await sync(first=5) == [12, 11, 10, 9, 8]
    assert await sync(min=8) == [9, 10, 11, 12]
    assert await sync(max=4) == [3, 2, 1]
    assert await sync(min=3, max=7) == [4, 5, 6]  # both bounds exclusive
    assert await sync(min=3, max=7, order="DESC") == [6, 5, 4]
    assert await sync(max=4, order="ASC") == [1, 2, 3]
    assert await sync(min=2, max=7, order="ASC") == [3, 4, 5, 6]
    # and the page walks on by cursor in either order, every row once
    walked: list[int] = []
    after = None
    while True:
        body = await gql(SYNC, {"min": 0, "first": 5, "after": after}, as_=world.a_analyst)
        walked += _seqs(body)
        info = body["data"]["activities"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert walked == list(range(1, 13))
    # and the contest filter and the day filter (every row is today)
    assert await sync(campaignId="tab-quiz", min=0) == [1, 4, 7, 10]
    today = (await db.fan_activities.find_one({}))["day"]  # type: ignore[index]
    assert len(await sync(date=today, first=200)) == 12
    assert await sync(date="2001-01-01") == []
    # and B sees only its own, with the same sequence numbers
    body = await gql(SYNC, {"min": 10}, as_=world.b_owner)
    assert {e["node"]["partnerId"] for e in body["data"]["activities"]["edges"]} == {
        world.partner_b}
    assert _seqs(body) == [11, 12]
    assert body["data"]["activities"]["totalCount"] == 2


async def test_activities_sync_rejections_and_guards(
    gql: GraphQL, world: World, db: Database
) -> None:
    cases = [({"first": 201}, "first"), ({"first": 0}, "first"), ({"min": -1}, "minSequence"),
             ({"max": -5}, "maxSequence"), ({"min": 5, "max": 5}, "maxSequence"),
             ({"min": 6, "max": 2}, "maxSequence"), ({"fanId": "tkt_12345678"}, "fanId"),
             ({"campaignId": "a b"}, "campaignId"), ({"after": "nope"}, "after")]  # fmt: skip
    for variables, field in cases:
        body = await gql(SYNC, variables, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert "errors" not in await gql(SYNC, {"first": 200}, as_=world.a_owner)
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.a_member, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(SYNC, {}, as_=persona)) == [code]


async def _details_commands(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter, n: int
) -> int:
    await db.fan_activities.delete_many({})
    for i in range(n):
        fan = await given_fan(db, world.partner_a)
        connected = {"networks": ["spotify"], "idol_names": [f"Idol {i}"]}
        await data.insert_activity(db, world.partner_a, fan, "Quiz", {}, connected)
    commands.start()
    body = await gql(DETAILS, {"first": n}, as_=world.a_owner)
    total = commands.total
    nodes = [e["node"] for e in body["data"]["activities"]["edges"]]
    assert len(nodes) == n
    assert all(node["fan"]["id"] and node["fanNetworks"] == ["spotify"] for node in nodes)
    assert all(node["fanIdolNames"] == node["idolNames"] for node in nodes)
    return total


async def test_include_details_is_not_n_plus_1(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    assert await _details_commands(gql, world, db, commands, 2) == (
        await _details_commands(gql, world, db, commands, 25)
    )


# --- aggregate counters ------------------------------------------------------------------

ACTIVITY_ROWS = st.lists(
    st.tuples(st.sampled_from("AB"), st.sampled_from(["Quiz", "Poll", "Q|x"]),
              st.sets(st.sampled_from(["score", "answer", "a b"]), max_size=3)),
    max_size=14,
)  # fmt: skip


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=ACTIVITY_ROWS, title=st.none() | st.sampled_from(["Quiz", "Q|x", "Nope"]),
       prop=st.none() | st.sampled_from(["score", "a b"]))  # fmt: skip
async def test_activity_counters_match_an_oracle(
    gql: GraphQL, world: World, db: Database, rows: list[tuple[str, str, set[str]]],
    title: str | None, prop: str | None,
) -> None:  # fmt: skip
    # given generated activities of both partners, interleaved
    await db.fan_activities.delete_many({})
    fans = {"A": await given_fan(db, world.partner_a), "B": await given_fan(db, world.partner_b)}
    partners = {"A": world.partner_a, "B": world.partner_b}
    for who, campaign, keys in rows:
        props = {k: f"v-{k}" for k in sorted(keys)}
        await data.insert_activity(db, partners[who], fans[who], campaign, props)

    def oracle(only: str | None) -> list[dict[str, Any]]:
        counts = Counter(
            (partners[who], campaign, key) for who, campaign, keys in rows for key in keys
            if (only is None or who == only) and (title is None or campaign == title)
            and (prop is None or key == prop)
        )  # fmt: skip
        return [{"partnerId": p, "campaignTitle": c, "propertyName": k, "counter": n}
                for (p, c, k), n in sorted(counts.items())]  # fmt: skip

    variables = {"campaignTitle": title, "propertyName": prop}
    # when A, B and the operator ask; then each gets exactly its partner's counts
    body = await gql(COUNTERS, variables, as_=world.a_analyst)
    assert body["data"]["activityCounters"] == oracle("A")
    body = await gql(COUNTERS, variables, as_=world.b_owner)
    assert body["data"]["activityCounters"] == oracle("B")
    body = await gql(COUNTERS, variables, as_=world.operator)
    assert body["data"]["activityCounters"] == oracle(None)
    body = await gql(COUNTERS, {**variables, "partnerId": world.partner_b}, as_=world.operator)
    assert body["data"]["activityCounters"] == oracle("B")


async def test_activity_counters_rejections_and_guards(gql: GraphQL, world: World) -> None:
    for variables, code, field in (
        ({"propertyName": "a.b"}, "BAD_USER_INPUT", "propertyName"),
        ({"propertyName": ""}, "BAD_USER_INPUT", "propertyName"),
        ({"campaignTitle": ""}, "BAD_USER_INPUT", "campaignTitle"),
        ({"campaignTitle": "x" * 201}, "BAD_USER_INPUT", "campaignTitle"),
        ({"partnerId": "bad"}, "BAD_USER_INPUT", "partnerId"),
    ):
        body = await gql(COUNTERS, variables, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": code, "field": field}
    body = await gql(COUNTERS, {"partnerId": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.anonymous, "UNAUTHENTICATED")):
        assert error_codes(await gql(COUNTERS, {}, as_=persona)) == [code]
