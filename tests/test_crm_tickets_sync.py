"""The seed's incremental ticket download (`ticketSync`): sequence windows in both orders, the
list filters, deleted tickets on request, two tenants, an oracle over generated tickets, N+1."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database, Document
from loaders import crm as data
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import at, given_fan, given_tickets, ticket_draft

SYNC = """
query($min: Int, $max: Int, $order: SyncOrder! = ASC, $filter: TicketFilter, $first: Int,
      $partner: ID) {
  ticketSync(minSequence: $min, maxSequence: $max, order: $order, filter: $filter,
             first: $first, partnerId: $partner) {
    order minSequence maxSequence hasMore
    tickets { id sequence isDeleted email }
  }
}"""
SYNC_WITH_FAN = """
query($first: Int) {
  ticketSync(first: $first) {
    hasMore tickets { id fan { id firstName tickets(first: 1) { totalCount } } }
  }
}"""
DAY = timedelta(days=1)


def batch(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]["ticketSync"]  # type: ignore[no-any-return]


async def given_interleaved_tickets(db: Database, world: World) -> dict[str, list[Document]]:
    """Tickets of A and B created alternately (A: 7, one deleted; B: 4)."""
    made: dict[str, list[Document]] = {world.partner_a: [], world.partner_b: []}
    for i in range(11):
        partner = world.partner_b if i % 3 == 1 else world.partner_a
        draft = ticket_draft(f"buyer{i}@example.com", at("2026-03-01") + i * DAY,
                             is_deleted=i == 3)  # fmt: skip
        made[partner] += await given_tickets(db, partner, [draft])
    return made


async def test_ticket_sync_walks_the_window_up_and_down_within_the_tenant(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given interleaved tickets of two partners, one of A's deleted
    made = await given_interleaved_tickets(db, world)
    live = [t for t in made[world.partner_a] if not t["is_deleted"]]
    # when A walks ascending two at a time from the start, passing the batch's max as min
    seen: list[str] = []
    last: int | None = None
    while True:
        got = batch(await gql(SYNC, {"min": last, "first": 2}, as_=world.a_owner))
        seen += [t["id"] for t in got["tickets"]]
        assert got["order"] == "ASC"
        if not got["hasMore"]:
            break
        last = got["maxSequence"]
    # then it saw each of its live tickets once, in sequence order
    assert seen == [t["_id"] for t in live]
    # and descending from the top, passing the batch's min as max
    seen, top = [], None
    while True:
        got = batch(await gql(SYNC, {"max": top, "first": 3, "order": "DESC"},
                              as_=world.a_owner))  # fmt: skip
        seqs = [t["sequence"] for t in got["tickets"]]
        assert seqs == sorted(seqs, reverse=True)
        assert (got["minSequence"], got["maxSequence"]) == (min(seqs), max(seqs))
        seen += [t["id"] for t in got["tickets"]]
        if not got["hasMore"]:
            break
        top = got["minSequence"]
    assert seen == [t["_id"] for t in reversed(live)]
    # a closed window (both bounds exclusive)
    lo, hi = live[1]["seq"], live[4]["seq"]
    got = batch(await gql(SYNC, {"min": lo, "max": hi, "first": 100}, as_=world.a_owner))
    assert [t["id"] for t in got["tickets"]] == [t["_id"] for t in live[2:4]]
    # deleted tickets only on request, flagged
    got = batch(await gql(SYNC, {"filter": {"includeDeleted": True}, "first": 100},
                          as_=world.a_analyst))  # fmt: skip
    assert [t["id"] for t in got["tickets"]] == [t["_id"] for t in made[world.partner_a]]
    assert [t["isDeleted"] for t in got["tickets"]].count(True) == 1
    # an empty window has no bounds
    got = batch(await gql(SYNC, {"min": made[world.partner_a][-1]["seq"]}, as_=world.a_owner))
    assert got == {"order": "ASC", "minSequence": None, "maxSequence": None, "hasMore": False,
                   "tickets": []}  # fmt: skip
    # B sees only its own; the operator names the partner
    got = batch(await gql(SYNC, {"first": 100}, as_=world.b_owner))
    assert [t["id"] for t in got["tickets"]] == [t["_id"] for t in made[world.partner_b]]
    got = batch(await gql(SYNC, {"first": 100, "partner": world.partner_b}, as_=world.operator))
    assert len(got["tickets"]) == 4


async def test_ticket_sync_filters_by_email_and_days(
    gql: GraphQL, world: World, db: Database
) -> None:
    made = await given_interleaved_tickets(db, world)
    mine = made[world.partner_a]
    got = batch(await gql(SYNC, {"filter": {"email": "  BUYER6@example.com"}}, as_=world.a_owner))
    assert [t["email"] for t in got["tickets"]] == ["buyer6@example.com"]
    got = batch(await gql(SYNC, {"filter": {"email": "buyer1@example.com"}}, as_=world.a_owner))
    assert got["tickets"] == []  # B's buyer
    window = {"minPurchaseDate": "2026-03-03", "maxPurchaseDate": "2026-03-07"}
    got = batch(await gql(SYNC, {"filter": window}, as_=world.a_owner))
    want = [t["_id"] for t in mine if not t["is_deleted"]
            and date(2026, 3, 3) <= t["purchased_at"].date() <= date(2026, 3, 7)]  # fmt: skip
    assert [t["id"] for t in got["tickets"]] == want
    old_ms = {"$set": {"updated_ms": 1_700_000_000_000}}
    await db.tickets.update_one({"_id": mine[0]["_id"]}, old_ms)
    old = {"maxLastUpdateDate": "2023-11-14"}
    got = batch(await gql(SYNC, {"filter": old}, as_=world.a_owner))
    assert [t["id"] for t in got["tickets"]] == [mine[0]["_id"]]
    got = batch(await gql(SYNC, {"filter": {"minLastUpdateDate": "2023-11-15"}, "first": 100},
                          as_=world.a_owner))  # fmt: skip
    assert mine[0]["_id"] not in [t["id"] for t in got["tickets"]]


async def test_ticket_sync_rejections_and_guards(gql: GraphQL, world: World) -> None:
    for variables, field in (({"first": 1001}, "first"), ({"first": 0}, "first"),
                             ({"min": -1}, "minSequence"), ({"max": -5}, "maxSequence"),
                             ({"min": 5, "max": 5}, "maxSequence"),
                             ({"filter": {"minPurchaseDate": "2026-02-02",
                                          "maxPurchaseDate": "2026-02-01"}},
                              "filter.maxPurchaseDate"),
                             ({"filter": {"minLastUpdateDate": "2026-02-02",
                                          "maxLastUpdateDate": "2026-02-01"}},
                              "filter.maxLastUpdateDate"),
                             ({"filter": {"email": "not an email"}}, "filter.email")):  # fmt: skip
        body = await gql(SYNC, variables, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    body = await gql(SYNC, {}, as_=world.operator)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "partnerId"}
    body = await gql(SYNC, {"partner": world.partner_a}, as_=world.b_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    for persona, code in ((world.a_app, "FORBIDDEN"), (world.a_member, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(SYNC, {}, as_=persona)) == [code]


async def test_ticket_sync_pages_past_the_default_cap_within_the_cost_limit(
    gql: GraphQL, world: World, db: Database
) -> None:
    fan = await given_fan(db, world.partner_a)
    drafts = [ticket_draft(fan["email"], at("2026-01-01")) for _ in range(100)]
    for _ in range(2):
        await given_tickets(db, world.partner_a, drafts)
    small = "query($f: Int) { ticketSync(first: $f) { hasMore tickets { id } } }"
    got = batch(await gql(small, {"f": 1000}, as_=world.a_owner))
    assert len(got["tickets"]) == 200 and not got["hasMore"]
    # the cost limit still counts first x selection
    wide = ("query { ticketSync(first: 1000) { tickets { id sequence email eventName eventDate "
            "numSeats purchasedAt fan { id email firstName lastName tags } } } }")
    assert error_codes(await gql(wide, {}, as_=world.a_owner)) == ["OPERATION_TOO_COMPLEX"]


async def test_ticket_sync_costs_the_same_commands_for_any_batch(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    for i in range(25):
        await given_tickets(db, world.partner_a, [ticket_draft(f"n{i}@example.com",
                                                               at("2026-01-02"))])  # fmt: skip
    counts = []
    for first in (2, 25):
        commands.start()
        got = batch(await gql(SYNC_WITH_FAN, {"first": first}, as_=world.a_owner))
        assert len(got["tickets"]) == first
        assert all(t["fan"]["tickets"]["totalCount"] == 1 for t in got["tickets"])
        counts.append(commands.total)
    assert counts[0] == counts[1]


# --- the window and filters against an oracle ---------------------------------------------

TICKET = st.fixed_dictionaries({
    "partner": st.sampled_from("AAB"), "email": st.sampled_from(["p@x.io", "q@x.io"]),
    "bought": st.integers(0, 9), "updated": st.integers(0, 9), "deleted": st.booleans(),
})  # fmt: skip
QUERY = st.fixed_dictionaries({
    "order": st.sampled_from(["ASC", "DESC"]), "first": st.integers(1, 5),
}, optional={
    "min": st.integers(0, 30), "max": st.integers(0, 30),
    "minPurchase": st.integers(0, 9), "maxPurchase": st.integers(0, 9),
    "minUpdate": st.integers(0, 9), "maxUpdate": st.integers(0, 9),
    "email": st.sampled_from(["p@x.io", "q@x.io"]), "includeDeleted": st.booleans(),
})  # fmt: skip
BASE = date(2026, 4, 1)


def sensible(q: dict[str, Any]) -> bool:
    return all(q.get(hi, 99) >= q.get(lo, -1) + (1 if lo == "min" else 0)
               for lo, hi in (("min", "max"), ("minPurchase", "maxPurchase"),
                              ("minUpdate", "maxUpdate")))  # fmt: skip


def variables_of(q: dict[str, Any]) -> dict[str, Any]:
    f: dict[str, Any] = {}
    for key, name in (("minPurchase", "minPurchaseDate"), ("maxPurchase", "maxPurchaseDate"),
                      ("minUpdate", "minLastUpdateDate"), ("maxUpdate", "maxLastUpdateDate")):
        if key in q:
            f[name] = (BASE + q[key] * DAY).isoformat()
    f.update({k: q[k] for k in ("email", "includeDeleted") if k in q})
    return {"order": q["order"], "first": q["first"], "min": q.get("min"), "max": q.get("max"),
            "filter": f}  # fmt: skip


def wanted(rows: list[dict[str, Any]], q: dict[str, Any]) -> list[dict[str, Any]]:
    hits = [r for r in rows if r["partner"] == "A"
            and q.get("min", -1) < r["seq"] < q.get("max", 10**9)
            and q.get("minPurchase", 0) <= r["bought"] <= q.get("maxPurchase", 9)
            and q.get("minUpdate", 0) <= r["updated"] <= q.get("maxUpdate", 9)
            and q.get("email", r["email"]) == r["email"]
            and (q.get("includeDeleted") or not r["deleted"])]  # fmt: skip
    return sorted(hits, key=lambda r: r["seq"], reverse=q["order"] == "DESC")


@settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=st.lists(TICKET, max_size=16), queries=st.lists(QUERY.filter(sensible), min_size=1,
                                                          max_size=3))  # fmt: skip
async def test_ticket_sync_matches_a_python_oracle(
    gql: GraphQL, world: World, db: Database, rows: list[dict[str, Any]],
    queries: list[dict[str, Any]],
) -> None:  # fmt: skip
    # given generated tickets of two partners, sequences per partner as the counter gives them
    await db.tickets.delete_many({})
    seqs = {"A": 0, "B": 0}
    docs = []
    for i, r in enumerate(rows):
        seqs[r["partner"]] += 1 + i % 2  # gaps, as lost races leave them
        r["seq"] = seqs[r["partner"]]
        bought = at((BASE + r["bought"] * DAY).isoformat(), hour=23)
        r["id"] = f"tkt_o{i}{uuid.uuid4().hex[:6]}"
        full = {k: v for k, v in ticket_draft(r["email"], bought).items()
                if k not in ("fan", "ticket_key")}
        docs.append({
            **full, "_id": r["id"], "partner_id": world.partner_a if r["partner"] == "A"
            else world.partner_b, "seq": r["seq"], "fan_id": "fan_x", "email": r["email"],
            "purchased_at": bought, "is_deleted": r["deleted"], "created_at": bought,
            "updated_ms": data.to_ms(at((BASE + r["updated"] * DAY).isoformat(), hour=0)),
        })  # fmt: skip
    if docs:
        await db.tickets.insert_many(docs)
    for q in queries:
        # when A asks for a batch
        got = batch(await gql(SYNC.replace(" email }", " }"), variables_of(q),
                              as_=world.a_analyst))  # fmt: skip
        # then it is the oracle's first `first` hits, with the window's meta
        hits = wanted(rows, q)
        shown = hits[: q["first"]]
        assert [t["id"] for t in got["tickets"]] == [r["id"] for r in shown], q
        assert got["hasMore"] == (len(hits) > q["first"]), q
        assert got["minSequence"] == min((r["seq"] for r in shown), default=None), q
        assert got["maxSequence"] == max((r["seq"] for r in shown), default=None), q


NESTED = """
query($id: ID!, $after: String) {
  fan(id: $id) {
    tickets(first: 3, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { id sequence purchasedAt } }
    }
  }
}"""


async def test_a_fans_ticket_page_reads_only_the_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given a fan with 250 tickets and one with 4 (and B's tickets interleaved)
    big = await given_fan(db, world.partner_a)
    small = await given_fan(db, world.partner_a)
    for _ in range(5):
        await given_tickets(db, world.partner_a, [ticket_draft(big["email"], at("2026-02-01"))
                                                  for _ in range(50)])  # fmt: skip
        await given_tickets(db, world.partner_b, [ticket_draft(big["email"], at("2026-02-01"))])
    await given_tickets(db, world.partner_a, [ticket_draft(small["email"], at("2026-02-02"))
                                              for _ in range(4)])  # fmt: skip
    counts = {}
    for fan in (big, small):
        # when its first page and the next are read
        commands.start()
        body = await gql(NESTED, {"id": fan["_id"]}, as_=world.a_owner)
        counts[fan["_id"]] = commands.total
        page = body["data"]["fan"]["tickets"]
        nxt = (await gql(NESTED, {"id": fan["_id"], "after": page["pageInfo"]["endCursor"]},
                         as_=world.a_owner))["data"]["fan"]["tickets"]  # fmt: skip
        # then they continue in sequence order, with real date-times
        seqs = [e["node"]["sequence"] for e in page["edges"] + nxt["edges"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert page["pageInfo"]["hasNextPage"]
        assert page["edges"][0]["node"]["purchasedAt"].startswith("2026-02-0")
    assert len(seqs) == 4 and not nxt["pageInfo"]["hasNextPage"]
    # and the 250-ticket fan costs no more commands than the 4-ticket one (no getMore)
    assert counts[big["_id"]] == counts[small["_id"]]
