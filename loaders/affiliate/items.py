"""Conversion items (basket lines) as their own list, and the attributed click by id.

The seed's conversion-item report lists every item on its own row with its conversion's
facts. Items live inside their conversion (`items`), so the list pages over conversions in
the conversions list's order (`ts`, `_id` newest first) and then over each one's items in
basket order: the cursor is `(ts, conversion id, item index)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from gateway.core.errors import BadUserInput
from gateway.storage.mongo import Database, Document
from loaders.affiliate.events import EVENT_SORT, EventFilter
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    check_first,
    conjoin,
    decode_cursor,
    encode_cursor,
    in_key_order,
    match_stage,
)


def item_rows(doc: Document, start: int = 0) -> list[dict[str, Any]]:
    """The item lines of one conversion from index `start`: `{conversion, item, index}`."""
    return [
        {"conversion": doc, "item": item, "index": i}
        for i, item in enumerate(doc.get("items", []))
        if i >= start
    ]


async def list_conversion_items(
    db: Database, scope: Scope, filters: EventFilter, first: int | None, after: str | None
) -> Page:
    """One page of item lines; one `find` (at most `first + 1` conversions, since every
    conversion has at least one item) plus a lazy count."""
    limit = check_first(first)
    query = filters.query(scope, conversions=True)
    start_index = 0
    full = conjoin(query)
    if after is not None:
        ts, conv_id, index = decode_cursor(after, 3)
        if not isinstance(ts, int) or not isinstance(conv_id, str) or not isinstance(index, int):
            raise BadUserInput("not a cursor from this list", field="after")
        # at or after the cursor's conversion (its remaining items come first)
        full = conjoin(query, {"$or": [{"ts": {"$lt": ts}},
                                       {"ts": ts, "_id": {"$lte": conv_id}}]})  # fmt: skip
        start_index = index + 1
        cursor_id = conv_id
    else:
        cursor_id = None
    docs = await db.affiliate_conversions.find(full, sort=EVENT_SORT, limit=limit + 1).to_list(
        limit + 1
    )
    rows: list[dict[str, Any]] = []
    for doc in docs:
        rows.extend(item_rows(doc, start_index if doc["_id"] == cursor_id else 0))
        if len(rows) > limit:
            break
    has_next = len(rows) > limit or len(docs) > limit
    rows = rows[:limit]
    cursors = [
        encode_cursor([r["conversion"]["ts"], r["conversion"]["_id"], r["index"]]) for r in rows
    ]

    async def count() -> int:
        return await count_conversion_items(db, scope, filters)

    return Page(rows=rows, cursors=cursors, has_next_page=has_next, count=count)


async def count_conversion_items(db: Database, scope: Scope, filters: EventFilter) -> int:
    """Item lines over every matching conversion (one aggregation)."""
    pipeline: list[dict[str, Any]] = [
        match_stage(filters.query(scope, conversions=True)),
        {"$group": {"_id": None, "n": {"$sum": {"$size": "$items"}}}},
    ]
    rows = await (await db.affiliate_conversions.aggregate(pipeline)).to_list(None)
    return int(rows[0]["n"]) if rows else 0


async def iter_conversion_items(
    db: Database, scope: Scope, filters: EventFilter, batch_size: int = 500
) -> AsyncIterator[dict[str, Any]]:
    """Every matching item line, newest conversion first (for the CSV export)."""
    cursor = db.affiliate_conversions.find(
        filters.query(scope, conversions=True), sort=EVENT_SORT, batch_size=batch_size
    )
    async for doc in cursor:
        for row in item_rows(doc):
            yield row


class ClickByIdLoader(ScopedLoader[str, Document | None]):
    """Clicks by id, only of partners the caller may read (a conversion's `click`)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        return in_key_order(keys, await self.db.affiliate_clicks.find(query).to_list(None))
