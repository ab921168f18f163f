"""The fan search's text filter paged and counted as flat queries (`loaders.crm.text_search`
`text_page` / `text_count`): against a Python oracle over generated fans of two interleaved
partners (ties on the creation time, tickets, a snapshot, tags, provinces), every page in
order and every `totalCount`, for texts of 1 to 5 characters alone or with other filters; and
a page costs the same commands for any page size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway.storage.mongo import Database, Document
from loaders import crm as data
from loaders.crm import text_search
from tests.conftest import CommandCounter, GraphQL, World
from tests.crm_fixtures import given_tickets, ticket_draft

PAGE = """
query($filter: FanFilter, $first: Int, $after: String) {
  fans(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } }
  }
}"""

START = datetime(2026, 3, 1, 12, tzinfo=UTC)
SNAP = "snp_TextSearchTest00"
LETTERS = "aAbB. "
FAN_ROW = st.fixed_dictionaries({
    "partner": st.sampled_from("AAB"),
    "first_name": st.text(LETTERS, max_size=5), "last_name": st.text(LETTERS, max_size=4),
    "display_name": st.text(LETTERS, max_size=5),
    "email_local": st.text("aAbB.", min_size=1, max_size=4),
    "slot": st.integers(0, 3),  # few creation times: ties in the sort order
    "tags": st.lists(st.sampled_from(["t1", "t2"]), unique=True),
    "province": st.sampled_from(["ON", "BC"]),
    "event": st.none() | st.sampled_from(["S1", "S2"]),
    "member": st.booleans(),
})  # fmt: skip
TEXT = st.text("aAbB.@ x", min_size=1, max_size=5).filter(lambda q: q.strip() == q and q)
EXTRAS = ["ticket", "ticket_negative", "in_snapshot", "not_in_snapshot", "tags_all", "province"]


def matches(fan: Document, text: str) -> bool:
    name = f"{fan['first_name']} {fan['last_name']}".strip()
    values = (name, fan["email"], fan["display_name"])
    return any(text.lower() in value.lower() for value in values)


def oracle(fans: list[Document], rows: list[dict[str, Any]], partner: str, text: str,
           extras: list[str]) -> list[str]:  # fmt: skip
    """Partner's fans matching everything, newest first (creation time, then id, descending)."""
    keep = []
    for fan, row in zip(fans, rows, strict=True):
        checks = {
            "ticket": row["event"] == "S1", "ticket_negative": row["event"] != "S1",
            "in_snapshot": row["member"], "not_in_snapshot": not row["member"],
            "tags_all": "t1" in row["tags"], "province": row["province"] == "ON",
        }  # fmt: skip
        if fan["partner_id"] == partner and matches(fan, text) and all(checks[e] for e in extras):
            keep.append(fan)
    keep.sort(key=lambda f: (f["created_ms"], f["_id"]), reverse=True)
    return [f["_id"] for f in keep]


def as_filter(text: str, extras: list[str], snapshot: str) -> dict[str, Any]:
    out: dict[str, Any] = {"text": text}
    for extra in extras:
        out.update({
            "ticket": {"ticketEventName": "S1"},
            "ticket_negative": {"ticketEventName": "S1", "ticketNegative": True},
            "in_snapshot": {"inSnapshots": [snapshot]},
            "not_in_snapshot": {"notInSnapshots": [snapshot]},
            "tags_all": {"tagsAll": ["t1"]}, "province": {"provinces": ["ON"]},
        }[extra])  # fmt: skip
    return out


async def given_world(db: Database, world: World, rows: list[dict[str, Any]]) -> list[Document]:
    """The generated fans, their tickets, and partner A's snapshot `snp_t` of the members."""
    for name in ("fans", "tickets", "crm_snapshots", "crm_snapshot_fans"):
        await db[name].delete_many({})
    fans = []
    for i, row in enumerate(rows):
        partner = world.partner_a if row["partner"] == "A" else world.partner_b
        doc = data.new_fan_doc(partner, {
            "first_name": row["first_name"], "last_name": row["last_name"],
            "display_name": row["display_name"], "email": f"{row['email_local']}{i}@Ex.com",
            "created_at": START + timedelta(minutes=row["slot"]), "tags": row["tags"],
            "province": row["province"],
        })  # fmt: skip
        await data.insert_fan(db, doc)
        fans.append(doc)
        if row["event"]:
            await given_tickets(db, partner, [ticket_draft(doc["email"], START,
                                                           event_name=row["event"])])  # fmt: skip
    await db.crm_snapshots.insert_one({"_id": SNAP, "partner_id": world.partner_a,
                                       "name": "t", "filter": {}, "fan_count": 0,
                                       "created_at": START, "created_ms": 0})  # fmt: skip
    members = [f["_id"] for f, r in zip(fans, rows, strict=True)
               if r["member"] and f["partner_id"] == world.partner_a]  # fmt: skip
    await data.segments.add_snapshot_members(db, world.partner_a, SNAP, members)
    return fans


async def walk(gql: GraphQL, world: World, filter: dict[str, Any],
               first: int) -> tuple[list[str], set[int]]:  # fmt: skip
    """Every page of the search as partner A: the ids in order and the totalCounts seen."""
    found: list[str] = []
    totals: set[int] = set()
    after = None
    for _ in range(100):
        body = await gql(PAGE, {"filter": filter, "first": first, "after": after},
                         as_=world.a_analyst)  # fmt: skip
        assert "errors" not in body, body
        fans = body["data"]["fans"]
        found += [e["node"]["id"] for e in fans["edges"]]
        totals.add(fans["totalCount"])
        if not fans["pageInfo"]["hasNextPage"]:
            return found, totals
        after = fans["pageInfo"]["endCursor"]
    raise AssertionError("the walk did not end")


@settings(max_examples=60, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=st.lists(FAN_ROW, max_size=12),
       searches=st.lists(st.tuples(TEXT, st.lists(st.sampled_from(EXTRAS), max_size=2, unique=True)
                                   .filter(lambda e: not {"ticket", "ticket_negative"} <= {*e}),
                                   st.integers(1, 4)), min_size=1, max_size=3),
       probe=st.sampled_from([1, 2, 3, 2000]))  # fmt: skip
async def test_every_page_and_count_match_the_oracle(
    gql: GraphQL, world: World, db: Database, monkeypatch: pytest.MonkeyPatch,
    rows: list[dict[str, Any]], searches: list[tuple[str, list[str], int]], probe: int,
) -> None:  # fmt: skip
    # given generated fans of two partners, tickets and a snapshot; a count probe so small
    # that every way of counting (hits, total minus misses, all hits) is taken
    monkeypatch.setattr(text_search, "PROBE", probe)
    fans = await given_world(db, world, rows)
    for text, extras, first in searches:
        # when partner A pages through the search
        found, totals = await walk(gql, world, as_filter(text, extras, SNAP), first)
        # then the pages hold exactly the oracle's fans in its order, each counting them all
        want = oracle(fans, rows, world.partner_a, text, extras)
        assert found == want, (text, extras)
        assert totals == {len(want)}, (text, extras)


async def test_a_page_costs_the_same_commands_for_any_page_size(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given 30 matching fans of partner A in 3 creation times, some buyers, half in a snapshot
    rows = [{"partner": "A", "first_name": "Anna", "last_name": "", "display_name": "",
             "email_local": "an", "slot": i % 3, "tags": [], "province": "ON",
             "event": "S1" if i % 2 else None, "member": i % 4 < 2} for i in range(30)]  # fmt: skip
    await given_world(db, world, rows)
    for filter in ({"text": "ann"}, {"text": "a"},
                   {"text": "nn", "inSnapshots": [SNAP], "ticketEventName": "S1"}):
        counts = []
        for first in (2, 10):
            # when a first page and the next are read with totalCount
            commands.start()
            body = await gql(PAGE, {"filter": filter, "first": first}, as_=world.a_analyst)
            cursor = body["data"]["fans"]["pageInfo"]["endCursor"]
            await gql(PAGE, {"filter": filter, "first": first, "after": cursor},
                      as_=world.a_analyst)  # fmt: skip
            counts.append(commands.total)
        # then the page size changes nothing
        assert counts[0] == counts[1], filter


async def test_a_tampered_cursor_is_a_clear_error(gql: GraphQL, world: World) -> None:
    # when the cursor's position is not a creation time and an id
    from loaders.base import encode_cursor

    body = await gql(PAGE, {"filter": {"text": "abc"}, "first": 2,
                            "after": encode_cursor(["x", 1, 0])}, as_=world.a_analyst)  # fmt: skip
    # then it is BAD_USER_INPUT on `after`, nothing else
    assert body["data"] is None or body["data"]["fans"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"].get("field") == "after"
