"""CRM awarded points (seed 002 "Get a list of currently awarded fan points"), display names.

Awards are listed by `(day, _id)`: `day` is the award's UTC day string (datetimes are not
range keys on the embedded store), so a date window is an indexed string range.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from gateway.storage.mongo import Database
from loaders.base import IndexSpec, Page, Scope, conjoin, paginate

INDEXES = [
    IndexSpec("fan_point_awards", [("partner_id", 1), ("day", 1), ("_id", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("display_name", 1)]),
]

AWARD_SORT: list[tuple[str, int]] = [("day", 1), ("_id", 1)]


async def list_awards(
    db: Database, scope: Scope, lo: date, hi: date, point_name: str | None, fan_id: str | None,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    """Awards of the caller's tenant in a day window (inclusive), oldest day first."""
    condition: dict[str, Any] = {"day": {"$gte": lo.isoformat(), "$lte": hi.isoformat()}}
    if point_name is not None:
        condition["point_name"] = point_name
    if fan_id is not None:
        condition["fan_id"] = fan_id
    return await paginate(
        db.fan_point_awards, conjoin(scope.tenant(), condition), sort=AWARD_SORT, first=first,
        after=after,
    )  # fmt: skip


async def taken_display_names(
    db: Database, partner_id: str, candidates: Sequence[str]
) -> set[str]:
    """Which of the candidates a fan of the partner already uses (exact match): one query."""
    rows = await db.fans.find(
        {"partner_id": partner_id, "display_name": {"$in": sorted(set(candidates))}},
        projection={"display_name": 1, "_id": 0},
    ).to_list(None)
    return {str(r["display_name"]) for r in rows}
