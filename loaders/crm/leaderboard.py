"""The points leaderboard: a ranked top-N of fans by one kind of points."""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.storage.mongo import Database
from loaders.base import (
    match_stage,
)

# --- points ----------------------------------------------------------------------------


async def leaderboard(
    db: Database, partner_id: str, point_name: str, lo: date | None, hi: date | None, limit: int
) -> list[tuple[str, int]]:
    """Top fans by points of one name in a day range: [(fan id, total)], best first."""
    # Only points feed leaderboards (the seed's point types; `leaderboard: true` of the awards
    # list keeps the same ones): venue (ATVENU) and ring (BESTRING) points do not rank.
    match: dict[str, Any] = {"partner_id": partner_id, "point_name": point_name,
                             "point_type": {"$nin": ["atvenu", "bestring"]}}  # fmt: skip
    days: dict[str, str] = {}
    if lo is not None:
        days["$gte"] = lo.isoformat()
    if hi is not None:
        days["$lte"] = hi.isoformat()
    if days:
        match["day"] = days  # day strings, not datetimes: see module docstring
    cursor = await db.fan_point_awards.aggregate(
        [
            match_stage(match),
            {"$group": {"_id": "$fan_id", "total": {"$sum": "$count"}}},
            {"$sort": {"total": -1, "_id": 1}},
            {"$limit": limit},
        ]
    )
    return [(row["_id"], int(row["total"])) for row in await cursor.to_list(None)]
