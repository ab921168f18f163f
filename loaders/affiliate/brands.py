"""The partner's brands (the seed's "brands the authenticated partner is associated with"):
every brand of a campaign the partner has a participation on, `blocked` when all of them
were rejected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.storage.mongo import Database
from loaders.affiliate.common import owned
from loaders.base import Page, Scope, check_first, decode_cursor, encode_cursor, match_stage


async def partner_brands(
    db: Database,
    scope: Scope,
    partner_id: str,
    brand_ids: Sequence[str],
    first: int | None,
    after: str | None,
) -> Page:
    """One `$group` over the partner's participations; paged by brand id in code (a partner
    has few brands, and the group gives them all at once)."""
    limit = check_first(first)
    start = str(decode_cursor(after, 1)[0]) if after is not None else None
    clauses: list[dict[str, Any]] = [owned(scope, partner_id)]
    if brand_ids:
        clauses.append({"brand_id": {"$in": list(brand_ids)}})
    pipeline = [
        match_stage(*clauses),
        {"$group": {
            "_id": "$brand_id", "n": {"$sum": 1},
            "rejected": {"$sum": {"$cond": [{"$eq": ["$status", "rejected"]}, 1, 0]}},
        }},
    ]  # fmt: skip
    found = {
        str(r["_id"]): int(r["rejected"]) == int(r["n"])
        async for r in await db.affiliate_participations.aggregate(pipeline)
    }
    ids = sorted(found)
    total = len(ids)
    if start is not None:
        ids = [i for i in ids if i > start]
    rows: list[dict[str, Any]] = [{"_id": i, "blocked": found[i]} for i in ids]
    page = rows[:limit]

    async def count() -> int:
        return total

    return Page(
        rows=page, cursors=[encode_cursor([r["_id"]]) for r in page],
        has_next_page=len(rows) > limit, count=count,
    )  # fmt: skip
