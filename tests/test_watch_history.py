"""Watch history of many members at once: correct pages and counts, constant cost.

The history loader used to build one `$facet` with two sub-pipelines per member; the
embedded store mixes up the outputs of a `$facet` with ten or more sub-pipelines (so most
of 50 members showed `totalCount: 0`) and rescans every event for each sub-pipeline.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gateway.storage.mongo import Database, Document
from loaders.base import utcnow
from tests.conftest import GraphQL, World
from tests.portal_fixtures import given_class, given_member, given_watches

MEMBERS_WITH_HISTORY = """
query Many($first: Int, $historyFirst: Int) {
  members(first: $first, sort: NAME) {
    edges { node { id name history(first: $historyFirst) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id minutes classTitle class { id } } } } } }
  }
}"""
MEMBER_PAGE = """
query One($id: ID!, $first: Int, $after: String) {
  member(id: $id) {
    history(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id minutes } }
    }
  }
}"""
MEMBERS_WITH_PAGE_ONLY = MEMBERS_WITH_HISTORY.replace("totalCount ", "")


def watched(i: int) -> list[int]:
    """Member i watched (i % 7) + 1 classes, minutes distinct per member."""
    return [i * 10 + k for k in range(i % 7 + 1)]


@pytest.fixture
async def fifty(db: Database, world: World) -> list[tuple[Document, list[Document]]]:
    """50 members of A and 10 of B, every one with watch events, interleaved in time."""
    yoga = await given_class(db, world.partner_a)
    hiit = await given_class(db, world.partner_a, "HIIT 20", "HIIT")
    b_class = await given_class(db, world.partner_b)
    now = utcnow()
    out: list[tuple[Document, list[Document]]] = []
    for i in range(50):
        member = await given_member(db, world.partner_a, name=f"Member {i:02d}")
        events = await given_watches(db, member, yoga if i % 2 else hiit, watched(i),
                                     at=now - timedelta(seconds=i))  # fmt: skip
        out.append((member, events))
        if i % 5 == 0:
            other = await given_member(db, world.partner_b, name=f"Other {i:02d}")
            await given_watches(db, other, b_class, [1, 2, 3, 4, 5, 6, 7, 8, 9],
                                at=now - timedelta(seconds=i))  # fmt: skip
    return out


def newest_first(events: list[Document]) -> list[str]:
    return [e["_id"] for e in sorted(events, key=lambda e: (e["ts"], e["_id"]), reverse=True)]


async def test_fifty_members_have_their_own_counts_and_first_pages(
    gql: GraphQL, world: World, fifty: list[tuple[Document, list[Document]]]
) -> None:
    # when staff lists 50 members with the first 3 of each one's history
    body = await gql(MEMBERS_WITH_HISTORY, {"first": 50, "historyFirst": 3}, as_=world.a_owner)
    assert "errors" not in body, body
    edges = body["data"]["members"]["edges"]
    # then every member's count and first page are its own
    expected = {m["_id"]: events for m, events in fifty}
    assert sorted(e["node"]["id"] for e in edges) == sorted(expected)
    for edge in edges:
        node = edge["node"]
        events = expected[node["id"]]
        history = node["history"]
        assert history["totalCount"] == len(events), node["name"]
        assert [h["node"]["id"] for h in history["edges"]] == newest_first(events)[:3]
        assert history["pageInfo"]["hasNextPage"] == (len(events) > 3)


async def test_every_page_of_every_member_follows_the_cursor(
    gql: GraphQL, world: World, fifty: list[tuple[Document, list[Document]]]
) -> None:
    # given the first pages of size 3 from the list, when each member is paged to the end
    body = await gql(MEMBERS_WITH_HISTORY, {"first": 50, "historyFirst": 3}, as_=world.a_owner)
    cursors = {
        e["node"]["id"]: e["node"]["history"]["pageInfo"]["endCursor"]
        for e in body["data"]["members"]["edges"]
        if e["node"]["history"]["pageInfo"]["hasNextPage"]
    }
    for member, events in fifty:
        seen = newest_first(events)[:3]
        after = cursors.get(member["_id"])
        while after is not None:
            page = await gql(MEMBER_PAGE, {"id": member["_id"], "first": 3, "after": after},
                             as_=world.a_owner)  # fmt: skip
            assert "errors" not in page, page
            history = page["data"]["member"]["history"]
            assert history["totalCount"] == len(events)
            seen += [h["node"]["id"] for h in history["edges"]]
            info = history["pageInfo"]
            after = info["endCursor"] if info["hasNextPage"] else None
        # then the pages together are the member's whole history, newest first, once each
        assert seen == newest_first(events)


async def test_commands_do_not_depend_on_page_size_or_member_count(
    gql: GraphQL, world: World, fifty: list[tuple[Document, list[Document]]], commands: Any
) -> None:
    async def cost(query: str, first: int, history_first: int) -> dict[str, int]:
        commands.start()
        body = await gql(query, {"first": first, "historyFirst": history_first},
                         as_=world.a_owner)  # fmt: skip
        assert "errors" not in body, body
        assert len(body["data"]["members"]["edges"]) == first
        # getMore fetches further batches of the same cursor: it grows with rows read.
        return {k: v for k, v in commands.by_command.items() if k != "getMore"}

    with_count = [await cost(MEMBERS_WITH_HISTORY, n, k) for n in (2, 50) for k in (1, 3, 7)]
    assert all(c == with_count[0] for c in with_count), with_count
    page_only = [await cost(MEMBERS_WITH_PAGE_ONLY, n, k) for n in (2, 50) for k in (1, 7)]
    assert all(c == page_only[0] for c in page_only), page_only
    # the count runs only when selected: one grouped count for all members
    assert with_count[0] == {**page_only[0], "aggregate": page_only[0].get("aggregate", 0) + 1}


async def test_a_long_history_is_not_read_whole_for_a_short_page(
    gql: GraphQL, db: Database, world: World, commands: Any
) -> None:
    # given a member with 1,500 watch events (many driver batches) and one with a few
    yoga = await given_class(db, world.partner_a)
    now = utcnow()
    long = await given_member(db, world.partner_a, name="A long history")
    events = await given_watches(db, long, yoga, [1 + i % 90 for i in range(1500)], at=now)
    short = await given_member(db, world.partner_a, name="B short history")
    few = await given_watches(db, short, yoga, [5, 6], at=now)
    # when staff asks for both members with the first 3 of each history
    commands.start()
    body = await gql(MEMBERS_WITH_PAGE_ONLY, {"first": 2, "historyFirst": 3}, as_=world.a_owner)
    # then each page is right, and no further batch of history rows was fetched
    assert "errors" not in body, body
    pages = [e["node"]["history"] for e in body["data"]["members"]["edges"]]
    assert [[h["node"]["id"] for h in p["edges"]] for p in pages] == [
        newest_first(events)[:3],
        newest_first(few),
    ]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, False]
    assert commands.by_command.get("getMore", 0) == 0, commands.by_command
