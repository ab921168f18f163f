"""CRM segments (seed 002): fan tags, snapshots and saved search filters, one list.

- a **tag** segment is every fan carrying the tag (`fans.tags`, indexed with the partner);
- a **snapshot** is a frozen set of fans (the result of a search at one moment), kept as one
  membership document per fan (`crm_snapshot_fans`, `_id` = `<snapshot>:<fan>`), since the
  embedded store cannot `$addToSet` into or join arrays reliably;
- a **filter** is a saved fan search (`crm_search_filters`), evaluated when read.

Every segment resolves to one `find` filter over `fans` (always an explicit `$and` of the
partner and the segment's condition: the embedded store misreads `{field: x, $or: […]}` in
aggregations), so status counts (the `count` command) and fan pages are plain indexed queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo.errors import BulkWriteError

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import (
    IndexSpec,
    Page,
    Scope,
    check_first,
    conjoin,
    decode_cursor,
    encode_cursor,
    match_stage,
    paginate,
    utcnow,
)
from loaders.crm.common import to_ms
from loaders.crm.search import count_fans, fan_search_query

INDEXES = [
    IndexSpec("crm_snapshots", [("partner_id", 1), ("name", 1)], unique=True,
              name="crm_snapshots_partner_name_unique"),
    IndexSpec("crm_snapshot_fans", [("partner_id", 1), ("snapshot_id", 1), ("fan_id", 1)]),
    IndexSpec("crm_snapshot_fans", [("partner_id", 1), ("fan_id", 1)]),
    IndexSpec("crm_search_filters", [("partner_id", 1), ("name", 1)], unique=True,
              name="crm_search_filters_partner_name_unique"),
    IndexSpec("fans", [("partner_id", 1), ("_id", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("updated_ms", -1)]),
]  # fmt: skip

SEGMENT_TYPES = ("tag", "snapshot", "filter")
_TYPE_ORDER = {name: i for i, name in enumerate(SEGMENT_TYPES)}
MAX_SEGMENT_PAGE = 10_000  # the seed's segment fan page limit
SEGMENT_FAN_SORT: list[tuple[str, int]] = [("_id", 1)]
SEGMENT_FAN_PROJECTION = {
    "email": 1, "phone": 1, "first_name": 1, "last_name": 1, "is_subscribed": 1,
    "is_phone_subscribed": 1, "updated_ms": 1,
}  # fmt: skip
_INSERT_CHUNK = 1000


# --- stored search filters ------------------------------------------------------------


def filter_to_doc(filters: Document) -> Document:
    """A normalised fan-search filter as a storable document (dates as ISO days)."""
    values: Document = {}
    dates: list[str] = []
    for key, value in sorted(filters.items()):
        if value is None or value == []:
            continue
        if isinstance(value, date):
            dates.append(key)
            value = value.isoformat()
        values[key] = list(value) if isinstance(value, tuple) else value
    return {"values": values, "dates": dates}


def filter_from_doc(doc: Document) -> Document:
    values = dict(doc.get("values") or {})
    for key in doc.get("dates") or []:
        values[key] = date.fromisoformat(values[key])
    return values


# --- the segment list ------------------------------------------------------------------


async def list_segments(
    db: Database, partner_id: str, seg_type: str | None, first: int | None, after: str | None
) -> Page:
    """Tags, snapshots and filters of a partner in (type, id) order: three queries per page."""
    limit = check_first(first)
    rows: list[Document] = []
    tenant = {"partner_id": partner_id}
    if seg_type in (None, "tag"):
        cursor = await db.fans.aggregate(
            [match_stage(tenant), {"$unwind": "$tags"}, {"$group": {"_id": "$tags"}}]
        )
        rows += [{"type": "tag", "id": str(r["_id"]), "name": str(r["_id"])}
                 for r in await cursor.to_list(None)]  # fmt: skip
    for kind, collection in (("snapshot", db.crm_snapshots), ("filter", db.crm_search_filters)):
        if seg_type in (None, kind):
            found = await collection.find(tenant, projection={"name": 1}).to_list(None)
            rows += [{"type": kind, "id": r["_id"], "name": r["name"]} for r in found]
    rows.sort(key=lambda r: (_TYPE_ORDER[r["type"]], r["id"]))
    if after is not None:
        order, last_id = decode_cursor(after, 2)
        rows = [r for r in rows if (_TYPE_ORDER[r["type"]], r["id"]) > (order, last_id)]
    total = len(rows)
    shown = rows[:limit]

    async def count() -> int:
        return total

    return Page(
        rows=shown,
        cursors=[encode_cursor([_TYPE_ORDER[r["type"]], r["id"]]) for r in shown],
        has_next_page=len(rows) > limit,
        count=count,
    )


# --- one segment -----------------------------------------------------------------------


async def segment_fan_query(
    db: Database, scope: Scope, partner_id: str, seg_type: str, seg_id: str
) -> dict[str, Any] | None:
    """The `fans` filter of a segment, or None when the partner has no such segment."""
    tenant = {"partner_id": partner_id}
    if seg_type == "tag":
        # `$in`, not equality: with the (partner_id, tags) index the embedded store matches
        # nothing for `{partner_id: p, tags: "x"}` (README deviation table).
        condition: dict[str, Any] = {"tags": {"$in": [seg_id]}}
        if await db.fans.find_one({"$and": [tenant, condition]}, projection={"_id": 1}) is None:
            return None
    elif seg_type == "snapshot":
        if await db.crm_snapshots.find_one({**tenant, "_id": seg_id}, {"_id": 1}) is None:
            return None
        members = await db.crm_snapshot_fans.find(
            {**tenant, "snapshot_id": seg_id}, projection={"fan_id": 1, "_id": 0}
        ).to_list(None)
        condition = {"_id": {"$in": sorted(m["fan_id"] for m in members)}}
    else:
        saved = await db.crm_search_filters.find_one({**tenant, "_id": seg_id})
        if saved is None:
            return None
        condition = await fan_search_query(db, scope, filter_from_doc(saved["filter"]))
    return {"$and": [tenant, condition]}


async def segment_status(db: Database, query: dict[str, Any]) -> Document:
    """Size and reachability of a segment: five counts plus the latest fan update.

    The counts run the `count` command (`count_fans`, as the fan search's `totalCount`):
    `count_documents` is an aggregation the embedded store evaluates fan by fan in Python,
    `count` one SQL `COUNT`. The extra conditions are `$exists: true` and flags, never `$nor`
    (the store's `count` drops documents missing a field under `$nor`, README deviations).
    """
    email, phone = {"email": {"$exists": True}}, {"phone": {"$exists": True}}
    latest = await db.fans.find(
        query, projection={"updated_ms": 1}, sort=[("updated_ms", -1)], limit=1
    ).to_list(1)
    return {
        "fan_count": await count_fans(db, query),
        "email_count": await count_fans(db, conjoin(query, email)),
        "phone_count": await count_fans(db, conjoin(query, phone)),
        "email_subscribe_count": await count_fans(
            db, conjoin(query, email, {"is_subscribed": True})
        ),
        "phone_subscribe_count": await count_fans(
            db, conjoin(query, phone, {"is_phone_subscribed": True})
        ),
        "last_update_ms": int(latest[0]["updated_ms"]) if latest else None,
    }


async def segment_fans(
    db: Database, query: dict[str, Any], first: int | None, after: str | None
) -> Page:
    """A page of a segment's fans (minimal objects) in id order, for sync."""
    return await paginate(
        db.fans, query, sort=SEGMENT_FAN_SORT, first=first, after=after,
        max_first=MAX_SEGMENT_PAGE, projection=SEGMENT_FAN_PROJECTION,
    )  # fmt: skip


# --- writes ----------------------------------------------------------------------------


async def insert_search_filter(
    db: Database, scope: Scope, partner_id: str, name: str, filters: Document
) -> Document:
    """Save a fan search as a filter segment; a taken name raises DuplicateKeyError."""
    query = {"$and": [{"partner_id": partner_id}, await fan_search_query(db, scope, filters)]}
    now = utcnow()
    doc: Document = {
        "_id": new_id("sfl"), "partner_id": partner_id, "name": name,
        "filter": filter_to_doc(filters), "created_at": now, "created_ms": to_ms(now),
        "last_search_count": await count_fans(db, query),
    }  # fmt: skip
    await db.crm_search_filters.insert_one(doc)
    return doc


async def insert_snapshot(
    db: Database, scope: Scope, partner_id: str, name: str, filters: Document
) -> Document:
    """Freeze the fans a search finds now; a taken name raises DuplicateKeyError."""
    query = {"$and": [{"partner_id": partner_id}, await fan_search_query(db, scope, filters)]}
    ids = [r["_id"] for r in await db.fans.find(query, projection={"_id": 1}).to_list(None)]
    now = utcnow()
    doc: Document = {
        "_id": new_id("snp"), "partner_id": partner_id, "name": name,
        "filter": filter_to_doc(filters), "fan_count": len(ids), "created_at": now,
        "created_ms": to_ms(now),
    }  # fmt: skip
    # The snapshot document goes in first so its unique name decides a race; members follow.
    await db.crm_snapshots.insert_one(doc)
    await add_snapshot_members(db, partner_id, doc["_id"], ids)
    return doc


async def add_snapshot_members(
    db: Database, partner_id: str, snapshot_id: str, fan_ids: Sequence[str]
) -> None:
    for start in range(0, len(fan_ids), _INSERT_CHUNK):
        chunk = fan_ids[start : start + _INSERT_CHUNK]
        rows = [{"_id": f"{snapshot_id}:{f}", "partner_id": partner_id,
                 "snapshot_id": snapshot_id, "fan_id": f} for f in chunk]  # fmt: skip
        try:
            await db.crm_snapshot_fans.insert_many(rows, ordered=False)
        except BulkWriteError as error:  # already a member (a retried write): fine
            if any(w.get("code") != 11000 for w in error.details.get("writeErrors", [])):
                raise


async def delete_segment(db: Database, partner_id: str, seg_type: str, seg_id: str) -> bool:
    tenant = {"partner_id": partner_id}
    if seg_type == "snapshot":
        gone = await db.crm_snapshots.find_one_and_delete({**tenant, "_id": seg_id})
        if gone is not None:
            await db.crm_snapshot_fans.delete_many({**tenant, "snapshot_id": seg_id})
        return gone is not None
    gone = await db.crm_search_filters.find_one_and_delete({**tenant, "_id": seg_id})
    return gone is not None
