"""CRM points (seed 002 "Award fan points", "Get a list of currently awarded fan points") and
display names ("Check if a display name exists and is valid").

Awards are stored in `fan_point_awards`, one document per award, and listed by `(day, _id)`:
`day` is the award's UTC day string (datetimes are not range keys on the embedded store), so a
date window is an indexed string range. A repeated `award_key` is decided by the partial unique
index declared in `loaders.crm.common`, so racing awards of one key store one document.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import IndexSpec, Page, Scope, conjoin, paginate, utcnow

INDEXES = [
    IndexSpec("fan_point_awards", [("partner_id", 1), ("day", 1), ("_id", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("display_name", 1)]),
]

AWARD_SORT: list[tuple[str, int]] = [("day", 1), ("_id", 1)]
# The seed's point types; only "points" feed leaderboards (`leaderboard: true` in the list).
LEADERBOARD_TYPE = "points"


async def award_points(
    db: Database, partner_id: str, fan_id: str, point_name: str, count: int,
    award_key: str | None, links: Document | None = None,
) -> tuple[Document, bool]:  # fmt: skip
    """Record an award; a repeated `award_key` returns (the existing award, True).

    `links` holds `point_type` and the optional `reward_id`, `campaign_id`, `activity_id` and
    `session_id` (None values are not stored).
    """
    key_query = {"partner_id": partner_id, "award_key": award_key}
    if award_key:
        existing = await db.fan_point_awards.find_one(key_query)
        if existing is not None:
            return existing, True
    now = utcnow()
    doc: Document = {
        "_id": new_id("fpa"), "partner_id": partner_id, "fan_id": fan_id,
        "point_name": point_name, "count": count, "fan_point": f"{fan_id}|{point_name}",
        "point_type": LEADERBOARD_TYPE, "day": now.date().isoformat(), "created_at": now,
    }  # fmt: skip
    doc.update({k: v for k, v in (links or {}).items() if v is not None})
    if award_key:
        doc["award_key"] = award_key
    try:
        await db.fan_point_awards.insert_one(doc)
    except DuplicateKeyError:
        existing = await db.fan_point_awards.find_one(key_query)
        if existing is None:
            raise
        return existing, True
    return doc, False


async def list_awards(
    db: Database, scope: Scope, lo: date, hi: date, point_name: str | None, fan_id: str | None,
    first: int | None, after: str | None, leaderboard: bool = False,
) -> Page:  # fmt: skip
    """Awards of the caller's tenant in a day window (inclusive), oldest day first."""
    condition: dict[str, Any] = {"day": {"$gte": lo.isoformat(), "$lte": hi.isoformat()}}
    if point_name is not None:
        condition["point_name"] = point_name
    if fan_id is not None:
        condition["fan_id"] = fan_id
    if leaderboard:
        condition["point_type"] = LEADERBOARD_TYPE
    return await paginate(
        db.fan_point_awards, conjoin(scope.tenant(), condition), sort=AWARD_SORT, first=first,
        after=after,
    )  # fmt: skip


async def activity_of(db: Database, partner_id: str, activity_id: str) -> Document | None:
    """The partner's activity (id and fan only), to link an award to it."""
    return await db.fan_activities.find_one(
        {"partner_id": partner_id, "_id": activity_id}, {"_id": 1, "fan_id": 1}
    )


async def taken_display_names(db: Database, partner_id: str, candidates: Sequence[str]) -> set[str]:
    """Which of the candidates a fan of the partner already uses (exact match): one query."""
    rows = await db.fans.find(
        {"partner_id": partner_id, "display_name": {"$in": sorted(set(candidates))}},
        projection={"display_name": 1, "_id": 0},
    ).to_list(None)
    return {str(r["display_name"]) for r in rows}
