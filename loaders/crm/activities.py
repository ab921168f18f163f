"""Fan activities (seed 002 "Download incremental list of activities", "Submit new Activity",
"Aggregate Call"): recorded with a per-partner sequence, listed in id windows either way, and
counted per campaign title and custom property.

Each activity stores `counter_keys`, one string per property
(`<partner>\\x1f<campaign>\\x1f<property>`),
so the aggregate counters group by ONE string field: the embedded store takes a compound
`$group` `_id` literally (see README, CRM section).
"""

from __future__ import annotations

from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import (
    IndexSpec,
    Page,
    Scope,
    conjoin,
    match_stage,
    paginate,
    utcnow,
)
from loaders.crm.common import ACTIVITY_SORT, next_seq, to_ms

INDEXES = [
    IndexSpec("fan_activities", [("partner_id", 1), ("campaign_id", 1), ("seq", 1)]),
    IndexSpec("fan_activities", [("partner_id", 1), ("day", 1), ("seq", 1)]),
]

ACTIVITY_SORT_DESC: list[tuple[str, int]] = [("seq", -1), ("_id", -1)]
MAX_ACTIVITY_PAGE = 200  # the seed's `limit` of the activities call
_SEP = "\x1f"  # unit separator: refused in titles and keys (not printable), so it splits safely

# The activity fields a submit may set besides campaign and props (defaults when not sent).
ACTIVITY_DEFAULTS: Document = {
    "campaign_id": "", "app_type": "", "stream_key": "", "ip_address": "", "user_key": "",
    "networks": [], "idol_names": [], "duration_ms": None, "correct_count": None,
}  # fmt: skip


def counter_keys(partner_id: str, campaign_title: str, props: Document) -> list[str]:
    return sorted(_SEP.join((partner_id, campaign_title, key)) for key in props)


async def insert_activity(
    db: Database, partner_id: str, fan: Document | str, campaign_title: str, props: Document,
    extra: Document | None = None,
) -> Document:  # fmt: skip
    """Store an activity of `fan` (already updated with the submit's details; a fan id reads it).

    The fan's opt-ins and name are copied as they are now (the seed's activity carries them);
    its networks and idols are added to the fan's sets (the `include_details` connections).
    """
    if isinstance(fan, str):
        found = await db.fans.find_one({"partner_id": partner_id, "_id": fan})
        fan = found if found is not None else {"_id": fan}
    now = utcnow()
    fields = {**ACTIVITY_DEFAULTS, **(extra or {})}
    name = " ".join(p for p in (fan.get("first_name"), fan.get("last_name")) if p)
    doc: Document = {
        "_id": new_id("fac"), "partner_id": partner_id,
        "seq": await next_seq(db, partner_id, "activities"), "fan_id": fan["_id"],
        "campaign_title": campaign_title, "props": props,
        "counter_keys": counter_keys(partner_id, campaign_title, props), **fields, "name": name,
        "is_subscribed": bool(fan.get("is_subscribed")),
        "is_phone_subscribed": bool(fan.get("is_phone_subscribed")),
        "business_opt_ins": list(fan.get("business_opt_ins") or []),
        "day": now.date().isoformat(), "created_at": now,
    }  # fmt: skip
    await db.fan_activities.insert_one(doc)
    # Pre-computed for the fan search (active days / dates), its `lastCampaignTitle` and
    # `lastCampaignId` (the seed's last_page_tab_id; "" for an activity outside a campaign).
    update: Document = {
        "$max": {"last_active_ms": to_ms(now), "active_ms": to_ms(now)},
        "$set": {"last_campaign_title": campaign_title, "last_campaign_id": fields["campaign_id"]},
    }
    owned = {"partner_id": partner_id, "_id": fan["_id"]}
    added = {k: {"$each": fields[k]} for k in ("networks", "idol_names") if fields[k]}
    for key in added:
        # The embedded store's `$addToSet` does nothing on a missing field: create it first.
        await db.fans.update_one({**owned, key: {"$exists": False}}, {"$set": {key: []}})
    if added:
        update["$addToSet"] = added
    await db.fans.update_one(owned, update)
    return doc


async def list_activities(
    db: Database, scope: Scope, filters: Document, first: int | None, after: str | None,
    descending: bool = False,
) -> Page:  # fmt: skip
    """Activities of the caller's tenant in a sequence window (both bounds exclusive)."""
    condition: dict[str, Any] = {}
    for key in ("campaign_title", "campaign_id", "day", "fan_id"):
        if filters.get(key):
            condition[key] = filters[key]
    window: dict[str, int] = {}
    if filters.get("min_seq") is not None:
        window["$gt"] = filters["min_seq"]
    if filters.get("max_seq") is not None:
        window["$lt"] = filters["max_seq"]
    if window:
        condition["seq"] = window
    return await paginate(
        db.fan_activities, conjoin(scope.tenant(), condition),
        sort=ACTIVITY_SORT_DESC if descending else ACTIVITY_SORT, first=first, after=after,
        max_first=MAX_ACTIVITY_PAGE,
    )  # fmt: skip


async def activity_counters(
    db: Database, partner_id: str | None, campaign_title: str | None, property_name: str | None
) -> list[tuple[str, str, str, int]]:
    """[(partner, campaign title, property, activities carrying it)], sorted.

    `partner_id` None (operators) counts every partner, one row per partner.
    """
    match: dict[str, Any] = {}
    if partner_id is not None:
        match["partner_id"] = partner_id
    if campaign_title is not None:
        match["campaign_title"] = campaign_title
    if property_name is not None:
        # keys never contain `.` or `$`, so the path is safe; narrows before the $unwind
        match[f"props.{property_name}"] = {"$exists": True}
    cursor = await db.fan_activities.aggregate(
        [
            match_stage(match),
            {"$project": {"counter_keys": 1}},
            {"$unwind": "$counter_keys"},
            {"$group": {"_id": "$counter_keys", "n": {"$sum": 1}}},
        ]
    )
    rows: list[tuple[str, str, str, int]] = []
    for row in await cursor.to_list(None):
        partner, campaign, prop = str(row["_id"]).split(_SEP)
        if campaign_title is not None and campaign != campaign_title:
            continue
        if property_name is not None and prop != property_name:
            continue
        rows.append((partner, campaign, prop, int(row["n"])))
    return sorted(rows)
