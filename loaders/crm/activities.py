"""Fan activities: recorded with a per-partner sequence, listed in id-window pages."""

from __future__ import annotations

from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import (
    Page,
    Scope,
    paginate,
    utcnow,
)
from loaders.crm.common import ACTIVITY_SORT, next_seq, to_ms

# --- activities ------------------------------------------------------------------------


async def insert_activity(
    db: Database, partner_id: str, fan_id: str, campaign_title: str, props: Document
) -> Document:
    now = utcnow()
    doc: Document = {
        "_id": new_id("fac"), "partner_id": partner_id,
        "seq": await next_seq(db, partner_id, "activities"), "fan_id": fan_id,
        "campaign_title": campaign_title, "props": props, "day": now.date().isoformat(),
        "created_at": now,
    }  # fmt: skip
    await db.fan_activities.insert_one(doc)
    # Pre-computed for the fan search (active days / dates) and its `lastCampaignTitle`.
    await db.fans.update_one(
        {"partner_id": partner_id, "_id": fan_id},
        {"$max": {"last_active_ms": to_ms(now)}, "$set": {"last_campaign_title": campaign_title}},
    )
    return doc


async def list_activities(db: Database, scope: Scope, filters: Document, first: int | None,
                          after: str | None) -> Page:  # fmt: skip
    query: dict[str, Any] = {**scope.tenant()}
    if filters.get("campaign_title"):
        query["campaign_title"] = filters["campaign_title"]
    if filters.get("day"):
        query["day"] = filters["day"]
    if filters.get("fan_id"):
        query["fan_id"] = filters["fan_id"]
    return await paginate(db.fan_activities, query, sort=ACTIVITY_SORT, first=first, after=after)
