"""CRM campaigns (seed 002 meta apps: list with text filter) and a campaign's top-N
leaderboard (`show_hidden`, rank, display name, points, balance, duration, correct count),
checked against a Python oracle; the points leaderboard counts only POINTS; the demo."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.demo import crm
from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.settings import Settings
from gateway.storage.mongo import Database, Document
from loaders import crm as data
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan

UPSERT = """
mutation($input: UpsertCrmCampaignInput!) {
  upsertCrmCampaign(input: $input) {
    created
    campaign { id partnerId campaignId title appType streamKey isActive createdAt winnerFanId
               hiddenFanIds winner { id } }
  }
}"""
CAMPAIGNS = """
query($q: String, $isActive: Boolean, $first: Int, $after: String) {
  crmCampaigns(q: $q, isActive: $isActive, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { campaignId title partnerId isActive winner { id email } } }
  }
}"""
BOARD = """
query($campaignId: String!, $showHidden: Boolean, $first: Int, $partnerId: ID) {
  crmCampaignLeaderboard(campaignId: $campaignId, showHidden: $showHidden, first: $first,
                         partnerId: $partnerId) {
    rank fanId displayName isHidden activityAt points balance activityDurationMs correctCount
  }
}"""
HIDE = """
mutation($campaignId: String!, $fanId: ID!, $hidden: Boolean) {
  setCrmLeaderboardHidden(campaignId: $campaignId, fanId: $fanId, hidden: $hidden) {
    campaignId hiddenFanIds
  }
}"""
POINTS_BOARD = 'query { leaderboard(pointName: "stars") { fanId points } }'


def campaign(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"campaignId": "tab-quiz", "title": "Summer Quiz",
                             "appType": "trivia", "streamKey": "stream-1"}  # fmt: skip
    value.update(overrides)
    return value


async def given_campaign(
    db: Database, partner_id: str, key: str, title: str,
    hidden_fan_ids: list[str] | None = None, **fields: Any,
) -> Document:  # fmt: skip
    doc, _ = await data.campaigns.upsert_campaign(db, partner_id, key, {
        "title": title, "title_lower": title.lower(), "app_type": "", "stream_key": "",
        "is_active": True, "winner_fan_id": "", **fields,
    })  # fmt: skip
    if hidden_fan_ids:
        await db.crm_campaigns.update_one({"_id": doc["_id"]},
                                          {"$set": {"hidden_fan_ids": hidden_fan_ids}})  # fmt: skip
    return doc


# --- upsertCrmCampaign -------------------------------------------------------------------


async def test_upsert_campaign_rejections_change_nothing(
    gql: GraphQL, world: World, db: Database
) -> None:
    b_fan = await given_fan(db, world.partner_b)
    cases: list[tuple[dict[str, Any], str, str]] = [
        (campaign(campaignId=""), "BAD_USER_INPUT", "campaignId"),
        (campaign(campaignId="tab quiz"), "BAD_USER_INPUT", "campaignId"),
        (campaign(campaignId="t" * 65), "BAD_USER_INPUT", "campaignId"),
        (campaign(title=" "), "BAD_USER_INPUT", "title"),
        (campaign(title="t" * 201), "BAD_USER_INPUT", "title"),
        (campaign(appType="a" * 65), "BAD_USER_INPUT", "appType"),
        (campaign(streamKey="s\x00"), "BAD_USER_INPUT", "streamKey"),
        (campaign(winnerFanId="tkt_12345678"), "BAD_USER_INPUT", "winnerFanId"),
        (campaign(winnerFanId="fan_unknown123"), "NOT_FOUND", "winnerFanId"),
        (campaign(winnerFanId=b_fan["_id"]), "NOT_FOUND", "winnerFanId"),
    ]  # fmt: skip
    for input, code, field in cases:
        body = await gql(UPSERT, {"input": input}, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": code, "field": field}, input
    body = await gql(UPSERT, {"input": campaign()}, as_=world.operator)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "partnerId"}
    body = await gql(UPSERT, {"input": campaign(partnerId=world.partner_b)}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    for persona, code in ((world.a_analyst, "FORBIDDEN"), (world.a_app, "FORBIDDEN"),
                          (world.a_member, "FORBIDDEN"), (world.anonymous, "UNAUTHENTICATED")):
        assert error_codes(await gql(UPSERT, {"input": campaign()}, as_=persona)) == [code]
    assert await db.crm_campaigns.count_documents({}) == 0


async def test_upsert_creates_then_replaces_by_key_per_partner(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a winner fan of A
    winner = await given_fan(db, world.partner_a)
    # when A creates a campaign, then sends the same key again
    body = await gql(UPSERT, {"input": campaign()}, as_=world.a_manager)
    made = body["data"]["upsertCrmCampaign"]
    assert made["created"] is True
    assert made["campaign"] == {
        "id": made["campaign"]["id"], "partnerId": world.partner_a, "campaignId": "tab-quiz",
        "title": "Summer Quiz", "appType": "trivia", "streamKey": "stream-1", "isActive": True,
        "createdAt": made["campaign"]["createdAt"], "winnerFanId": None, "hiddenFanIds": [],
        "winner": None,
    }  # fmt: skip
    again = campaign(title="Summer Quiz (final)", isActive=False, winnerFanId=winner["_id"],
                     appType=None)  # fmt: skip
    body = await gql(UPSERT, {"input": again}, as_=world.a_owner)
    replaced = body["data"]["upsertCrmCampaign"]
    # then the key names the same record with the new fields
    assert replaced["created"] is False
    assert replaced["campaign"]["id"] == made["campaign"]["id"]
    assert replaced["campaign"]["createdAt"] == made["campaign"]["createdAt"]
    assert (replaced["campaign"]["title"], replaced["campaign"]["isActive"],
            replaced["campaign"]["appType"], replaced["campaign"]["winner"]) == (
        "Summer Quiz (final)", False, None, {"id": winner["_id"]})  # fmt: skip
    # and B (and an operator for B) keep their own campaign under the same key
    body = await gql(UPSERT, {"input": campaign(partnerId=world.partner_b)}, as_=world.operator)
    assert body["data"]["upsertCrmCampaign"]["created"] is True
    assert await db.crm_campaigns.count_documents({"campaign_id": "tab-quiz"}) == 2


async def test_racing_upserts_of_one_key_store_one_campaign(
    gql: GraphQL, world: World, db: Database
) -> None:
    bodies = await asyncio.gather(*(
        gql(UPSERT, {"input": campaign(title=f"Race {i}")}, as_=world.a_owner) for i in range(8)
    ))  # fmt: skip
    assert all("errors" not in b for b in bodies), bodies
    assert sum(b["data"]["upsertCrmCampaign"]["created"] for b in bodies) == 1
    assert await db.crm_campaigns.count_documents({"partner_id": world.partner_a}) == 1


# --- crmCampaigns ------------------------------------------------------------------------


async def test_campaign_list_filters_pages_and_tenants(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given campaigns of A and B created alternately
    titles = ["Summer Quiz", "summer (poll)", "Winter Draw", "Spring Quiz", "Quiz.*"]
    for i, title in enumerate(titles):
        await given_campaign(db, world.partner_a, f"a-{i}", title, is_active=i != 2)
        await given_campaign(db, world.partner_b, f"b-{i}", title)

    async def keys(as_: Any = world.a_analyst, **variables: Any) -> list[str]:
        body = await gql(CAMPAIGNS, {"first": 100, **variables}, as_=as_)
        assert "errors" not in body, body
        return [e["node"]["campaignId"] for e in body["data"]["crmCampaigns"]["edges"]]

    # then newest first, text filter any case and literal, the active flag, own partner only
    assert await keys() == ["a-4", "a-3", "a-2", "a-1", "a-0"]
    assert await keys(q="SUMMER") == ["a-1", "a-0"]
    assert await keys(q="(poll)") == ["a-1"]
    assert await keys(q=".*") == ["a-4"]
    assert await keys(q="quiz") == ["a-4", "a-3", "a-0"]
    assert await keys(isActive=False) == ["a-2"]
    assert await keys(q="nothing") == []
    assert await keys(as_=world.b_owner, q="draw") == ["b-2"]
    assert len(await keys(as_=world.operator)) == 10
    # and pages walk by cursor with the count of the filter
    body = await gql(CAMPAIGNS, {"q": "quiz", "first": 2}, as_=world.a_owner)
    page = body["data"]["crmCampaigns"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    rest = await keys(q="quiz", after=page["pageInfo"]["endCursor"])
    assert rest == ["a-0"]
    # and bad input / callers are refused
    for variables, field in (({"first": 101}, "first"), ({"q": "x" * 201}, "q"),
                             ({"after": "zzz"}, "after")):  # fmt: skip
        body = await gql(CAMPAIGNS, variables, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.anonymous, "UNAUTHENTICATED")):
        assert error_codes(await gql(CAMPAIGNS, {}, as_=persona)) == [code]


async def test_campaign_list_with_winners_is_not_n_plus_1(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    counts = []
    for n in (2, 20):
        await db.crm_campaigns.delete_many({})
        for i in range(n):
            fan = await given_fan(db, world.partner_a)
            await given_campaign(db, world.partner_a, f"c-{i}", f"C {i}", winner_fan_id=fan["_id"])
        commands.start()
        body = await gql(CAMPAIGNS, {"first": n}, as_=world.a_owner)
        counts.append(commands.total)
        assert all(e["node"]["winner"]["id"] for e in body["data"]["crmCampaigns"]["edges"])
    assert counts[0] == counts[1]


# --- crmCampaignLeaderboard --------------------------------------------------------------

ENTRIES = st.lists(
    st.one_of(
        st.tuples(st.just("award"), st.sampled_from("AB"), st.integers(0, 5),
                  st.sampled_from(["points", "atvenu", "bestring"]), st.booleans(),
                  st.integers(-10, 20).filter(bool)),
        st.tuples(st.just("activity"), st.sampled_from("AB"), st.integers(0, 5),
                  st.none() | st.integers(0, 3), st.booleans(),
                  st.none() | st.integers(0, 50)),
    ),
    max_size=16,
)  # fmt: skip


Row = tuple[int, str, int, int, "int | None", "int | None", bool, bool]


def oracle(entries: list[tuple[Any, ...]], who: str, ids: dict[int, str], hidden: set[int],
           show_hidden: bool, limit: int) -> list[Row]:  # fmt: skip
    """[(rank, fan id, points, balance, duration, correct, hidden, has activity)], naively."""
    fans: dict[int, dict[str, Any]] = {}
    for kind, partner, fan, a, in_campaign, b in entries:
        if partner != who or not in_campaign or (kind == "award" and a != "points"):
            continue  # venue and ring points never rank (nor make an entrant)
        row = fans.setdefault(fan, {"points": 0, "balance": 0, "best": None})
        if kind == "award":
            row["balance"] += b
            row["points"] += max(b, 0)
        elif kind == "activity":
            key = (-(a or 0), b if b is not None else 10**9)
            if row["best"] is None or key < row["best"][0]:  # earlier wins a tie
                row["best"] = (key, b, a)
    table = []
    for fan, row in fans.items():
        if fan in hidden and not show_hidden:
            continue
        duration, correct = (row["best"][1], row["best"][2]) if row["best"] else (None, None)
        order = (-row["points"], -(correct or 0), duration if duration is not None else 10**9)
        table.append((order, ids[fan], row, duration, correct, fan))
    table.sort(key=lambda r: (r[0], r[1]))
    out: list[Row] = []
    for i, (order, fan_id, row, duration, correct, fan) in enumerate(table[:limit]):
        rank = out[-1][0] if out and table[i - 1][0] == order else i + 1
        out.append((rank, fan_id, row["points"], row["balance"], duration, correct,
                    fan in hidden, row["best"] is not None))  # fmt: skip
    return out


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(entries=ENTRIES, hidden=st.sets(st.integers(0, 5), max_size=3),
       show_hidden=st.booleans(), limit=st.integers(1, 7))  # fmt: skip
async def test_campaign_leaderboard_matches_an_oracle(
    gql: GraphQL, world: World, db: Database, entries: list[tuple[Any, ...]],
    hidden: set[int], show_hidden: bool, limit: int,
) -> None:  # fmt: skip
    # given both partners' campaign "tab-cup" (and another one), with awards and activities
    for name in ("fans", "fan_activities", "fan_point_awards", "crm_campaigns"):
        await db[name].delete_many({})
    partners = {"A": world.partner_a, "B": world.partner_b}
    fans = {(p, i): await given_fan(db, partners[p]) for p in "AB" for i in range(6)}
    for p in "AB":
        await given_campaign(db, partners[p], "tab-cup", "Cup", hidden_fan_ids=[
            fans[(p, i)]["_id"] for i in sorted(hidden)])  # fmt: skip
    for kind, p, i, a, in_campaign, b in entries:
        link = "tab-cup" if in_campaign else "tab-other"
        fan = fans[(p, i)]
        if kind == "award":
            await data.points.award_points(db, partners[p], fan["_id"], "stars", b, None,
                                           {"point_type": a, "campaign_id": link})  # fmt: skip
        else:
            await data.insert_activity(db, partners[p], fan, "Cup", {}, {
                "campaign_id": link, "correct_count": a, "duration_ms": b})  # fmt: skip
    # when A reads the top `limit`
    body = await gql(BOARD, {"campaignId": "tab-cup", "showHidden": show_hidden,
                             "first": limit}, as_=world.a_analyst)  # fmt: skip
    assert "errors" not in body, body
    # then ranks, fans and figures are the oracle's (full ties ordered by fan id)
    got = [(r["rank"], r["fanId"], r["points"], r["balance"], r["activityDurationMs"],
            r["correctCount"], r["isHidden"], r["activityAt"] is not None)
           for r in body["data"]["crmCampaignLeaderboard"]]  # fmt: skip
    ids = {i: fans[("A", i)]["_id"] for i in range(6)}
    assert got == oracle(entries, "A", ids, hidden, show_hidden, limit)


async def test_campaign_leaderboard_rejections_guards_and_hiding(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given A's campaign with two ranked fans, and B's campaign
    ada = await given_fan(db, world.partner_a, display_name="Ada!")
    bob = await given_fan(db, world.partner_a, first_name="Bob", last_name="Stone")
    b_fan = await given_fan(db, world.partner_b)
    await given_campaign(db, world.partner_a, "tab-cup", "Cup")
    await given_campaign(db, world.partner_b, "tab-b", "B cup")
    for fan, count in ((ada, 10), (bob, 4)):
        await data.points.award_points(db, world.partner_a, fan["_id"], "stars", count, None,
                                       {"point_type": "points", "campaign_id": "tab-cup"})
    # then bad input and foreign campaigns are refused
    for variables, code, field in (
        ({"campaignId": "tab-nope"}, "NOT_FOUND", "campaignId"),
        ({"campaignId": "tab-b"}, "NOT_FOUND", "campaignId"),
        ({"campaignId": "bad key"}, "BAD_USER_INPUT", "campaignId"),
        ({"campaignId": "tab-cup", "first": 0}, "BAD_USER_INPUT", "first"),
        ({"campaignId": "tab-cup", "first": 101}, "BAD_USER_INPUT", "first"),
    ):
        body = await gql(BOARD, variables, as_=world.a_analyst)
        assert only_error(body)["extensions"] == {"code": code, "field": field}, variables
    body = await gql(BOARD, {"campaignId": "tab-cup"}, as_=world.operator)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "partnerId"}
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.anonymous, "UNAUTHENTICATED")):
        assert error_codes(await gql(BOARD, {"campaignId": "tab-cup"}, as_=persona)) == [code]
    # and hiding refuses bad input and other callers, changing nothing
    for variables, code, field in (
        ({"campaignId": "tab-cup", "fanId": b_fan["_id"]}, "NOT_FOUND", "fanId"),
        ({"campaignId": "tab-cup", "fanId": "tkt_12345678"}, "BAD_USER_INPUT", "fanId"),
        ({"campaignId": "tab-b", "fanId": ada["_id"]}, "NOT_FOUND", "campaignId"),
    ):
        body = await gql(HIDE, variables, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": code, "field": field}, variables
    hide = {"campaignId": "tab-cup", "fanId": ada["_id"]}
    for persona, code in ((world.a_analyst, "FORBIDDEN"), (world.b_owner, "NOT_FOUND"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(HIDE, hide, as_=persona)) == [code]
    assert (await db.crm_campaigns.find_one({"campaign_id": "tab-cup"}) or {})[
        "hidden_fan_ids"] == []
    # when the leader is hidden (twice: harmless)
    for _ in range(2):
        body = await gql(HIDE, hide, as_=world.a_owner)
        assert body["data"]["setCrmLeaderboardHidden"]["hiddenFanIds"] == [ada["_id"]]
    # then the public board ranks Bob first, the full one shows Ada hidden
    body = await gql(BOARD, {"campaignId": "tab-cup"}, as_=world.a_analyst)
    assert body["data"]["crmCampaignLeaderboard"] == [
        {"rank": 1, "fanId": bob["_id"], "displayName": "Bob S.", "isHidden": False,
         "activityAt": None, "points": 4, "balance": 4, "activityDurationMs": None,
         "correctCount": None}]  # fmt: skip
    body = await gql(BOARD, {"campaignId": "tab-cup", "showHidden": True}, as_=world.a_analyst)
    assert [(r["rank"], r["displayName"], r["isHidden"])
            for r in body["data"]["crmCampaignLeaderboard"]] == [
        (1, "Ada!", True), (2, "Bob S.", False)]  # fmt: skip
    # and showing her again restores the public rank
    await gql(HIDE, {**hide, "hidden": False}, as_=world.a_owner)
    body = await gql(BOARD, {"campaignId": "tab-cup"}, as_=world.a_analyst)
    assert [r["fanId"] for r in body["data"]["crmCampaignLeaderboard"]] == [ada["_id"], bob["_id"]]


async def test_campaign_leaderboard_is_not_n_plus_1(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    await given_campaign(db, world.partner_a, "tab-cup", "Cup")
    counts = []
    for n in (2, 20):
        await db.fan_activities.delete_many({})
        await db.fan_point_awards.delete_many({})
        for i in range(n):
            fan = await given_fan(db, world.partner_a, first_name=f"F{i}")
            await data.insert_activity(db, world.partner_a, fan, "Cup", {},
                                       {"campaign_id": "tab-cup", "correct_count": i})
            await data.points.award_points(db, world.partner_a, fan["_id"], "stars", i + 1,
                                           None, {"campaign_id": "tab-cup"})  # fmt: skip
        commands.start()
        body = await gql(BOARD, {"campaignId": "tab-cup", "first": 100}, as_=world.a_owner)
        counts.append(commands.total)
        assert len(body["data"]["crmCampaignLeaderboard"]) == n
    assert counts[0] == counts[1]


# --- the points leaderboard counts only points -----------------------------------------------


async def test_points_leaderboard_leaves_out_venue_and_ring_points(
    gql: GraphQL, world: World, db: Database
) -> None:
    ada = await given_fan(db, world.partner_a)
    bob = await given_fan(db, world.partner_a)
    for fan, count, kind in ((ada, 5, "points"), (ada, 100, "atvenu"), (bob, 100, "bestring"),
                             (bob, 3, "points")):  # fmt: skip
        await data.points.award_points(db, world.partner_a, fan["_id"], "stars", count, None,
                                       {"point_type": kind})  # fmt: skip
    # an award stored before point types existed counts as points
    await db.fan_point_awards.update_one({"fan_id": bob["_id"], "count": 3},
                                         {"$unset": {"point_type": ""}})  # fmt: skip
    body = await gql(POINTS_BOARD, {}, as_=world.a_analyst)
    assert body["data"]["leaderboard"] == [{"fanId": ada["_id"], "points": 5},
                                           {"fanId": bob["_id"], "points": 3}]  # fmt: skip


# --- demo --------------------------------------------------------------------------------

DEMO = """
query {
  crmCampaigns(first: 10) { totalCount edges { node { campaignId isActive winner { id } } } }
  visible: crmCampaignLeaderboard(campaignId: "tab-trivia-night", first: 100) { isHidden }
  all: crmCampaignLeaderboard(campaignId: "tab-trivia-night", showHidden: true, first: 100) {
    isHidden points activityDurationMs correctCount
  }
  activityCounters(campaignTitle: "Trivia Night") { propertyName counter }
  activities(first: 200) {
    totalCount
    edges { node { campaignId appType ipAddress userKey networks idolNames fanNetworks } }
  }
}"""


async def test_demo_shows_campaigns_hidden_entries_and_activity_fields(
    gql: GraphQL, world: World, db: Database, settings: Settings
) -> None:
    # given the CRM demo seed run twice for partner A
    partner = DemoPartner(id=world.partner_a, name="A", index=0)
    for _ in range(2):
        await crm.seed(db, partner, DemoSecrets(settings.data_dir))
    body = await gql(DEMO, {}, as_=world.a_analyst)
    assert "errors" not in body, body
    got = body["data"]
    # then three campaigns (one over, with a winner), a board with hidden entries
    assert got["crmCampaigns"]["totalCount"] == 3
    assert sum(1 for e in got["crmCampaigns"]["edges"] if e["node"]["winner"]) == 1
    assert not any(r["isHidden"] for r in got["visible"])
    assert sum(r["isHidden"] for r in got["all"]) == 2
    assert len(got["all"]) == len(got["visible"]) + 2
    assert any(r["points"] > 0 for r in got["all"])
    assert all(r["correctCount"] is not None for r in got["all"] if r["activityDurationMs"])
    # and counters per property, and activities carrying the seed's fields and details
    assert {r["propertyName"] for r in got["activityCounters"]} == {"answer", "score"}
    nodes = [e["node"] for e in got["activities"]["edges"]]
    assert len(nodes) == 80
    assert all(n["campaignId"] and n["appType"] and n["ipAddress"] for n in nodes)
    assert any(n["userKey"] for n in nodes) and any(n["networks"] for n in nodes)
    assert any(n["idolNames"] for n in nodes)
    assert all(set(n["networks"]) <= set(n["fanNetworks"]) for n in nodes)
