"""Seed 002 "fan tags for the purposes of synchronization": one row per (fan, tag) with the
time the fan got the tag, so tags can be listed by creation window.

A fan's `tags` array stays the source of truth (the search filters on it); `fan_tags` mirrors
it: every write that sets a fan's tags reconciles the rows with the fan document read after the
write (`reconcile_fan_tags`: delete the rows of tags the fan no longer has, upsert one per tag
it has with `$setOnInsert`, so a kept tag keeps its creation time and concurrent writers
converge on the last state). A removed tag's row is deleted (the seed lists *existing* tags);
adding it again is a new creation. `created_ms` is epoch-ms (datetimes compared at whole
seconds in filters on the embedded store, see README).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from gateway.storage.mongo import Database, Document
from loaders.base import IndexSpec, Page, Scope, conjoin, paginate, utcnow
from loaders.crm.common import to_ms

INDEXES = [
    IndexSpec("fan_tags", [("partner_id", 1), ("created_ms", 1), ("_id", 1)]),
    IndexSpec("fan_tags", [("partner_id", 1), ("fan_id", 1), ("tag", 1)]),
]

TAG_SYNC_SORT: list[tuple[str, int]] = [("created_ms", 1), ("_id", 1)]
MAX_TAG_SYNC_PAGE = 10_000  # the seed's "limited to 10000 records max in a single result set"


def tag_row_id(fan_id: str, tag: str) -> str:
    return f"{fan_id}|{tag}"


def tag_rows(fan: Document, created_ms: int) -> list[Document]:
    """The `fan_tags` rows of a fan's current tags, all created at `created_ms`."""
    return [{"_id": tag_row_id(fan["_id"], tag), "partner_id": fan["partner_id"],
             "fan_id": fan["_id"], "tag": tag, "created_ms": created_ms}
            for tag in fan.get("tags") or []]  # fmt: skip


async def reconcile_fan_tags(db: Database, fan: Document, now: datetime | None = None) -> None:
    """Make the fan's `fan_tags` rows match its `tags` (the document read after the write)."""
    tags = list(fan.get("tags") or [])
    owned = {"partner_id": fan["partner_id"], "fan_id": fan["_id"]}
    await db.fan_tags.delete_many({**owned, "tag": {"$nin": tags}})
    rows = tag_rows(fan, to_ms(now or utcnow()))
    if rows:
        await db.fan_tags.bulk_write(
            [UpdateOne({"_id": row["_id"]}, {"$setOnInsert": row}, upsert=True) for row in rows],
            ordered=False,
        )


async def drop_fan_tags(db: Database, partner_id: str, fan_id: str) -> None:
    await db.fan_tags.delete_many({"partner_id": partner_id, "fan_id": fan_id})


async def list_fan_tags(
    db: Database, scope: Scope, start: datetime | None, end: datetime | None,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    """Tag rows created strictly after `start` and strictly before `end`, oldest first."""
    window: dict[str, Any] = {}
    if start is not None:
        window["$gt"] = to_ms(start)
    if end is not None:
        window["$lt"] = to_ms(end)
    query = conjoin(scope.tenant(), {"created_ms": window} if window else None)
    return await paginate(db.fan_tags, query, sort=TAG_SYNC_SORT, first=first, after=after,
                          max_first=MAX_TAG_SYNC_PAGE)  # fmt: skip
