"""The CRM demo seed: enough data, idempotent, and the API reads it."""

from __future__ import annotations

from datetime import timedelta

from gateway.demo import crm
from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders.base import utcnow
from tests.conftest import GraphQL, Persona, World

STATS = """
query($lo: Date!, $hi: Date!) {
  ticketStats(minPurchaseDate: $lo, maxPurchaseDate: $hi) {
    newFansCount returningFansCount salesCount
  }
  fans(first: 1) { totalCount edges { node { tickets { totalCount } points { total } } } }
  leaderboard(pointName: "stars", first: 3) { rank }
}"""

COLLECTIONS = ("fans", "tickets", "ticket_events", "fan_activities", "fan_point_awards",
               "crm_api_keys", "crm_search_filters", "crm_snapshots", "crm_snapshot_fans",
               "fan_tags")


async def counts(db: Database, partner_id: str) -> dict[str, int]:
    return {c: await db[c].count_documents({"partner_id": partner_id}) for c in COLLECTIONS}


async def test_demo_seed_is_complete_and_idempotent(
    gql: GraphQL, world: World, db: Database, settings: Settings
) -> None:
    # given the CRM seed run twice for partner A
    partner = DemoPartner(id=world.partner_a, name="A", index=0)
    demo = DemoSecrets(settings.data_dir)
    await crm.seed(db, partner, demo)
    first = await counts(db, world.partner_a)
    await crm.seed(db, partner, demo)
    # then the second run changed nothing and the volumes are there
    assert await counts(db, world.partner_a) == first
    assert first["fans"] >= 60
    assert first["tickets"] >= 100
    assert first["ticket_events"] >= 3
    assert first["fan_activities"] > 0
    assert first["fan_point_awards"] > 0
    # and the API sees returning buyers in the second month of sales
    today = utcnow().date()
    variables = {"lo": (today - timedelta(days=30)).isoformat(), "hi": today.isoformat()}
    body = await gql(STATS, variables, as_=world.a_analyst)
    stats = body["data"]["ticketStats"]
    assert stats["returningFansCount"] > 0
    assert stats["salesCount"] > 0
    assert body["data"]["fans"]["totalCount"] == first["fans"]
    assert len(body["data"]["leaderboard"]) == 3
    # a ticket created through the API sorts after the demo tickets
    next_seq = await db.crm_counters.find_one({"_id": f"{world.partner_a}:tickets"})
    assert next_seq is not None
    assert next_seq["seq"] >= first["tickets"]


async def test_demo_keys_work_as_printed(
    gql: GraphQL, world: World, db: Database, settings: Settings
) -> None:
    # given the seed run for partner A
    partner = DemoPartner(id=world.partner_a, name="A", index=0)
    await crm.seed(db, partner, DemoSecrets(settings.data_dir))
    keys = partner.report()["crmKeys"]
    assert [k["kind"] for k in keys] == ["public", "secret"]
    # then each printed key authenticates as a key of partner A, the public one read-only
    for printed in keys:
        persona = Persona("demo key", {printed["header"]: printed["key"]})
        viewer = (await gql("{ viewer { kind partnerId scopes } }", as_=persona))["data"]["viewer"]
        assert viewer["kind"] == "CRM_KEY"
        assert viewer["partnerId"] == world.partner_a
        assert ("crm:write" in viewer["scopes"]) is (printed["kind"] == "secret")


async def test_demo_segments_and_search_fields_are_readable(
    gql: GraphQL, world: World, db: Database, settings: Settings
) -> None:
    await crm.seed(db, DemoPartner(id=world.partner_a, name="A", index=0),
                   DemoSecrets(settings.data_dir))  # fmt: skip
    body = await gql("{ segments(first: 50) { edges { node { type id name } } } }",
                     as_=world.a_analyst)  # fmt: skip
    kinds = {e["node"]["type"] for e in body["data"]["segments"]["edges"]}
    assert kinds == {"TAG", "SNAPSHOT", "FILTER"}
    for seg_type in ("SNAPSHOT", "FILTER"):
        seg_id = next(e["node"]["id"] for e in body["data"]["segments"]["edges"]
                      if e["node"]["type"] == seg_type)  # fmt: skip
        status = await gql("query($t: SegmentType!, $id: ID!) { segmentStatus(type: $t, id: $id)"
                           " { fanCount } }", {"t": seg_type, "id": seg_id},
                           as_=world.a_analyst)  # fmt: skip
        assert status["data"]["segmentStatus"]["fanCount"] > 0
    search = await gql("{ fans(filter: {youngestAge: 18, inactiveForDays: 1}) { totalCount } "
                       "active: fans(filter: {activeFrom: \"2000-01-01\"}) { totalCount } }",
                       as_=world.a_analyst)  # fmt: skip
    assert search["data"]["fans"]["totalCount"] > 0
    assert search["data"]["active"]["totalCount"] > 0
    profile = await gql('{ fans(filter: {networks: ["spotify"], ratingMin: 1, idols: ["Nina Sky"], '
                        'metroAreas: ["Vienna Metro"], maxCount: 3}, first: 5) { totalCount '
                        "edges { node { rating latitude metroArea idolNames ipAddress } } } }",
                        as_=world.a_analyst)  # fmt: skip
    assert profile["data"]["fans"]["totalCount"] == 3
    node = profile["data"]["fans"]["edges"][0]["node"]
    assert node["metroArea"] == "Vienna Metro" and node["latitude"] == 48.21 and node["ipAddress"]


async def test_demo_ticket_and_tag_sync_are_readable(
    gql: GraphQL, world: World, db: Database, settings: Settings
) -> None:
    await crm.seed(db, DemoPartner(id=world.partner_a, name="A", index=0),
                   DemoSecrets(settings.data_dir))  # fmt: skip
    body = await gql("{ all: ticketSync(first: 1000, filter: {includeDeleted: true}) { tickets "
                     "{ isDeleted } } top: ticketSync(order: DESC, first: 5) { maxSequence "
                     "hasMore } fanTags(first: 1000) { totalCount } }", as_=world.a_analyst)
    data = body["data"]
    assert any(t["isDeleted"] for t in data["all"]["tickets"])
    tickets = await db.tickets.count_documents({"partner_id": world.partner_a})
    assert len(data["all"]["tickets"]) == tickets
    assert data["top"]["hasMore"] and data["top"]["maxSequence"] == tickets
    fans = await db.fans.find({"partner_id": world.partner_a}).to_list(None)
    assert data["fanTags"]["totalCount"] == sum(len(f["tags"]) for f in fans) > 0



async def test_demo_tickets_and_fans_carry_the_late_seed_fields(
    gql: GraphQL, world: World, db: Database, settings: Settings
) -> None:
    await crm.seed(db, DemoPartner(id=world.partner_a, name="A", index=0),
                   DemoSecrets(settings.data_dir))  # fmt: skip
    body = await gql("{ tickets(first: 5) { edges { node { partnerId metroArea } } } "
                     "fans(filter: {activeFrom: \"2000-01-01\"}, first: 50) "
                     "{ edges { node { lastCampaignId lastCampaignTitle } } } }",
                     as_=world.a_analyst)  # fmt: skip
    tickets = [e["node"] for e in body["data"]["tickets"]["edges"]]
    assert tickets and all(t["partnerId"] == world.partner_a and t["metroArea"] for t in tickets)
    fans = [e["node"] for e in body["data"]["fans"]["edges"]]
    assert fans and all(f["lastCampaignTitle"] for f in fans)
    assert any(f["lastCampaignId"] for f in fans)
