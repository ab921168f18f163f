"""Keyset paging (`loaders.base.paginate`) and its cursors, against the real store.

Every list in the API is a Relay connection built on `paginate`; these tests walk whole
collections page by page and compare with one plain sorted `find`, so a lost, repeated or
misordered row fails. (No connection root field exists in the schema yet; the GraphQL
shape is covered through `Connection.of`.)
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.errors import BadUserInput
from gateway.storage.mongo import CommandTally, Database, database, open_client
from loaders.base import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Page,
    _value_at,
    decode_cursor,
    encode_cursor,
    paginate,
)
from schema.connection import Connection

T0 = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)


class Store:
    """A fresh database plus the tally of commands sent to it."""

    def __init__(self, db: Database, tally: CommandTally) -> None:
        self.db = db
        self.tally = tally

    def sent(self, command: str) -> int:
        return self.tally.snapshot()[command]


@pytest.fixture
async def store(mongo_uri: str, db_name: str) -> AsyncIterator[Store]:
    tally = CommandTally()
    client = open_client(mongo_uri, tally)
    try:
        yield Store(database(client, db_name), tally)
    finally:
        await client.close()


@pytest.fixture
async def items(store: Store) -> Any:
    """45 documents of two tenants' worth: ties on `group`, distinct `score`, datetimes."""
    docs = [
        {
            "_id": f"itm_{i:03d}",
            "partner_id": "par_a" if i % 3 else "par_b",
            "group": i % 4,
            "score": (i * 37) % 101,
            "at": T0 + timedelta(minutes=(i * 7) % 13),
            "meta": {"rank": i % 5},
        }
        for i in range(45)
    ]
    await store.db.items.insert_many(docs)
    return store.db.items


async def walk(
    collection: Any,
    query: dict[str, Any],
    sort: Sequence[tuple[str, int]],
    first: int,
) -> tuple[list[str], list[Page]]:
    """Follow end cursors until the last page; returns the ids seen and every page."""
    seen: list[str] = []
    pages: list[Page] = []
    after: str | None = None
    for _ in range(100):  # bounded: a paging bug must fail, not loop
        page = await paginate(collection, query, sort=sort, first=first, after=after)
        pages.append(page)
        seen.extend(row["_id"] for row in page.rows)
        if not page.has_next_page:
            return seen, pages
        after = page.end_cursor
        assert after is not None
    raise AssertionError("paging did not end")


async def expected(
    collection: Any, query: dict[str, Any], sort: Sequence[tuple[str, int]]
) -> list[str]:
    return [doc["_id"] async for doc in collection.find(query, {"_id": 1}, sort=list(sort))]


# --- walking whole lists -------------------------------------------------------------------


async def test_walking_45_items_ten_at_a_time_yields_each_once_in_order(items: Any) -> None:
    sort = [("_id", 1)]
    seen, pages = await walk(items, {}, sort, first=10)
    assert seen == [f"itm_{i:03d}" for i in range(45)]
    assert [len(p.rows) for p in pages] == [10, 10, 10, 10, 5]
    assert [p.has_next_page for p in pages] == [True, True, True, True, False]
    assert all(p.end_cursor == p.cursors[-1] for p in pages)


async def test_exact_multiple_of_the_page_size_has_no_empty_last_page(items: Any) -> None:
    seen, pages = await walk(items, {}, [("_id", 1)], first=15)
    assert len(seen) == 45
    assert [len(p.rows) for p in pages] == [15, 15, 15]
    assert pages[-1].has_next_page is False


@pytest.mark.parametrize(
    "sort",
    [
        pytest.param([("group", 1), ("_id", 1)], id="ties-on-first-key"),
        pytest.param([("group", -1), ("_id", -1)], id="ties-descending"),
        pytest.param([("group", 1), ("_id", -1)], id="mixed-directions"),
        pytest.param([("score", -1), ("_id", 1)], id="descending-numbers"),
        pytest.param([("at", -1), ("_id", -1)], id="descending-datetimes"),
        pytest.param([("at", 1), ("group", -1), ("_id", 1)], id="three-keys"),
        pytest.param([("meta.rank", 1), ("_id", 1)], id="dotted-key"),
    ],
)
@pytest.mark.parametrize("first", [1, 7, 10])
async def test_walk_matches_one_sorted_find(
    items: Any, sort: list[tuple[str, int]], first: int
) -> None:
    seen, _ = await walk(items, {}, sort, first=first)
    assert seen == await expected(items, {}, sort)
    assert len(set(seen)) == 45


async def test_walk_stays_inside_the_query(items: Any) -> None:
    # Given a tenant filter, the cursor condition is added to it, never replaces it.
    query = {"partner_id": "par_b"}
    sort = [("group", 1), ("_id", 1)]
    seen, pages = await walk(items, query, sort, first=4)
    assert seen == await expected(items, query, sort)
    assert len(seen) == 15
    assert all(row["partner_id"] == "par_b" for page in pages for row in page.rows)


async def test_resuming_after_any_row_continues_right_after_it(items: Any) -> None:
    sort = [("score", -1), ("_id", 1)]
    everything = await expected(items, {}, sort)
    page = await paginate(items, {}, sort=sort, first=20, after=None)
    for index in (0, 7, 19):
        after = await paginate(items, {}, sort=sort, first=5, after=page.cursors[index])
        assert [row["_id"] for row in after.rows] == everything[index + 1 : index + 6]


async def test_total_count_counts_the_query_not_the_page(items: Any) -> None:
    first_page = await paginate(
        items, {"partner_id": "par_a"}, sort=[("_id", 1)], first=10, after=None
    )
    later = await paginate(
        items, {"partner_id": "par_a"}, sort=[("_id", 1)], first=10, after=first_page.end_cursor
    )
    assert await first_page.count() == 30
    assert await later.count() == 30


async def test_one_find_per_page_and_count_only_on_demand(store: Store, items: Any) -> None:
    finds, aggregates = store.sent("find"), store.sent("aggregate")
    page = await paginate(items, {}, sort=[("_id", 1)], first=10, after=None)
    await paginate(items, {}, sort=[("_id", 1)], first=10, after=page.end_cursor)
    assert store.sent("find") == finds + 2
    assert store.sent("aggregate") == aggregates
    await page.count()
    assert store.sent("find") + store.sent("aggregate") + store.sent("count") > finds + 2


async def test_an_empty_list(store: Store) -> None:
    page = await paginate(store.db.empty_items, {}, sort=[("_id", 1)], first=10, after=None)
    assert page.rows == []
    assert page.cursors == []
    assert page.end_cursor is None
    assert page.has_next_page is False
    assert await page.count() == 0


async def test_default_and_maximum_page_size(items: Any) -> None:
    page = await paginate(items, {}, sort=[("_id", 1)], first=None, after=None)
    assert len(page.rows) == DEFAULT_PAGE_SIZE
    page = await paginate(items, {}, sort=[("_id", 1)], first=None, after=None, max_first=5)
    assert len(page.rows) == 5
    page = await paginate(items, {}, sort=[("_id", 1)], first=MAX_PAGE_SIZE, after=None)
    assert len(page.rows) == 45
    assert page.has_next_page is False


async def test_projection_keeps_the_sort_keys_usable(items: Any) -> None:
    sort = [("group", 1), ("_id", 1)]
    page = await paginate(items, {}, sort=sort, first=10, after=None, projection={"group": 1})
    assert set(page.rows[0]) == {"_id", "group"}
    after = await paginate(items, {}, sort=sort, first=10, after=page.end_cursor)
    assert [r["_id"] for r in page.rows + after.rows] == (await expected(items, {}, sort))[:20]


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("first", [0, -1, MAX_PAGE_SIZE + 1, 10_000])
async def test_first_out_of_range_is_bad_user_input(items: Any, first: int) -> None:
    with pytest.raises(BadUserInput) as caught:
        await paginate(items, {}, sort=[("_id", 1)], first=first, after=None)
    assert caught.value.code == "BAD_USER_INPUT"
    assert caught.value.field == "first"
    assert caught.value.extensions == {"field": "first"}


async def test_first_above_a_lower_maximum_is_bad_user_input(items: Any) -> None:
    with pytest.raises(BadUserInput, match="between 1 and 30") as caught:
        await paginate(items, {}, sort=[("_id", 1)], first=31, after=None, max_first=30)
    assert caught.value.field == "first"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_CURSORS = [
    pytest.param("", id="empty"),
    pytest.param("!!!not base64!!!", id="garbage"),
    pytest.param("é", id="non-ascii"),
    pytest.param(b64(b"not json"), id="not-json"),
    pytest.param(b64(b'{"_id": "itm_001"}'), id="object-not-list"),
    pytest.param(b64(b'"itm_001"'), id="scalar-not-list"),
    pytest.param(encode_cursor(["itm_001"]), id="too-narrow"),
    pytest.param(encode_cursor([1, 2, "itm_001"]), id="too-wide"),
    pytest.param(b64(orjson.dumps([{"$ne": None}, "itm_001"])), id="forged-operator"),
    pytest.param(b64(orjson.dumps([{"$gt": ""}, {"$gt": ""}])), id="forged-operators"),
    pytest.param(b64(orjson.dumps([[1, 2], "itm_001"])), id="forged-array"),
    pytest.param(b64(orjson.dumps([{"$dt": 5}, "itm_001"])), id="forged-date-type"),
    pytest.param(b64(orjson.dumps([{"$dt": "yesterday"}, "itm_001"])), id="forged-date-text"),
    pytest.param(b64(orjson.dumps([{"$dt": "x", "y": 1}, "i"])), id="forged-date-extra"),
    pytest.param(encode_cursor([1, "x" * 600]), id="oversized"),
    pytest.param("A" * 10_000, id="huge"),
]


@pytest.mark.parametrize("after", BAD_CURSORS)
async def test_bad_after_is_bad_user_input(store: Store, items: Any, after: str) -> None:
    finds = store.sent("find")
    with pytest.raises(BadUserInput) as caught:
        await paginate(items, {}, sort=[("group", 1), ("_id", 1)], first=10, after=after)
    assert caught.value.field == "after"
    assert caught.value.message == "not a cursor from this list"
    # Refused before any query ran.
    assert store.sent("find") == finds


# --- cursors -----------------------------------------------------------------------------


def test_cursor_round_trips_strings_numbers_and_datetimes() -> None:
    values = ["itm_001", 3, 2.5, True, None, T0 + timedelta(microseconds=123000)]
    cursor = encode_cursor(values)
    assert decode_cursor(cursor, len(values)) == values
    assert "=" not in cursor
    assert cursor == base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(cursor + "==")
    ).decode().rstrip("=")


@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.integers(min_value=-(2**53), max_value=2**53),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.none(),
            st.datetimes(timezones=st.just(UTC)),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_cursors_are_the_url_safe_base64_of_their_json(values: list[Any]) -> None:
    # The oracle: the encoding as first written, with the standard library's base64.
    expected = base64.urlsafe_b64encode(
        orjson.dumps([{"$dt": v.isoformat()} if isinstance(v, datetime) else v for v in values])
    )
    assert encode_cursor(values) == expected.decode().rstrip("=")
    assert decode_cursor(encode_cursor(values), len(values)) == values


def test_sort_keys_are_read_at_top_level_and_along_dotted_paths() -> None:
    doc = {"_id": "a", "stats": {"views": 3}, "flat": None}
    assert [_value_at(doc, k) for k in ("_id", "stats.views", "flat", "gone", "_id.x")] == [
        "a", 3, None, None, None,
    ]  # fmt: skip


def test_cursor_datetimes_are_normalised_to_utc() -> None:
    from datetime import timezone

    local = datetime(2026, 3, 15, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    (decoded,) = decode_cursor(encode_cursor([local]), 1)
    assert decoded == local
    assert decoded.utcoffset() == timedelta(0)


async def test_connection_of_shapes_a_page(items: Any) -> None:
    page = await paginate(items, {}, sort=[("_id", 1)], first=3, after=None)
    connection = Connection.of(page, lambda row: row["_id"])
    assert [e.node for e in connection.edges] == ["itm_000", "itm_001", "itm_002"]
    assert [e.cursor for e in connection.edges] == page.cursors
    assert connection.page_info.has_next_page is True
    assert connection.page_info.end_cursor == page.cursors[-1]
    assert await connection.total_count() == 45
