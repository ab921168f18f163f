"""CRM campaigns (seed 002 "Get a list of Campaigns", the meta apps) and a campaign's top-N
leaderboard ("Fetch top 10 performing fans for a campaign").

A campaign is keyed per partner by its `campaign_id`, the seed's `page_tab_id`: the same free
key that awards (`awardFanPoints(campaignId)`) and activities (`createFanActivity(campaignId)`)
carry. The unique index `(partner_id, campaign_id)` decides racing upserts.

The leaderboard reads the campaign's entrants with three queries whatever their number: the
point sums (one `$group` by fan over the awards gained, one over all awards for the balance)
and the entrants' activities (projected to four fields); ranking happens here because the
hidden entries, the tie-breaks and the union of both sources are simpler and exact in Python.
Its cost grows with the campaign's entrants, not with the partner's fans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import IndexSpec, Page, Scope, conjoin, match_stage, paginate, utcnow
from loaders.crm.common import to_ms

INDEXES = [
    IndexSpec("crm_campaigns", [("partner_id", 1), ("campaign_id", 1)], unique=True,
              name="crm_campaigns_partner_key_unique"),
    IndexSpec("crm_campaigns", [("partner_id", 1), ("created_ms", -1), ("_id", -1)]),
    IndexSpec("fan_point_awards", [("partner_id", 1), ("campaign_id", 1), ("fan_id", 1)]),
]  # fmt: skip

CAMPAIGN_SORT: list[tuple[str, int]] = [("created_ms", -1), ("_id", -1)]
# Point types that never feed a leaderboard (venue and ring points; see loaders.crm.points).
NOT_ON_LEADERBOARDS = ["atvenu", "bestring"]


def _escape_regex(text: str) -> str:
    return "".join("\\" + c if c in r"\.^$|?*+()[]{}" else c for c in text)


async def campaign_by_key(db: Database, partner_id: str, campaign_id: str) -> Document | None:
    return await db.crm_campaigns.find_one({"partner_id": partner_id, "campaign_id": campaign_id})


async def upsert_campaign(
    db: Database, partner_id: str, campaign_id: str, fields: Document
) -> tuple[Document, bool]:
    """Create the campaign or replace its fields; returns (campaign, created)."""
    key = {"partner_id": partner_id, "campaign_id": campaign_id}
    now = utcnow()
    on_insert = {"_id": new_id("ccp"), "created_at": now, "created_ms": to_ms(now),
                 "hidden_fan_ids": []}  # fmt: skip
    for _ in range(2):  # a losing racer of the same new key retries as an update
        try:
            result = await db.crm_campaigns.update_one(
                key, {"$set": fields, "$setOnInsert": on_insert}, upsert=True
            )
            break
        except DuplicateKeyError:
            continue
    else:  # pragma: no cover - two lost races in a row
        raise RuntimeError("campaign upsert kept losing races")
    doc = await campaign_by_key(db, partner_id, campaign_id)
    if doc is None:  # pragma: no cover - just written
        raise RuntimeError("campaign vanished after upsert")
    return doc, result.upserted_id is not None


async def set_hidden(
    db: Database, partner_id: str, campaign_id: str, fan_id: str, hidden: bool
) -> Document | None:
    """Hide a fan from (or show it on) the campaign's public leaderboard."""
    op = "$addToSet" if hidden else "$pull"
    key = {"partner_id": partner_id, "campaign_id": campaign_id}
    await db.crm_campaigns.update_one(key, {op: {"hidden_fan_ids": fan_id}})
    return await campaign_by_key(db, partner_id, campaign_id)


async def list_campaigns(
    db: Database, scope: Scope, q: str | None, is_active: bool | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    """The caller's campaigns, newest first; `q` is a case-insensitive part of the title."""
    condition: dict[str, Any] = {}
    if q:
        condition["title_lower"] = {"$regex": _escape_regex(q.lower())}
    if is_active is not None:
        condition["is_active"] = is_active
    return await paginate(
        db.crm_campaigns, conjoin(scope.tenant(), condition), sort=CAMPAIGN_SORT, first=first,
        after=after,
    )  # fmt: skip


@dataclass
class Standing:
    """One fan's standing in a campaign, before ranking."""

    fan_id: str
    points: int = 0
    balance: int = 0
    activity_at: datetime | None = None
    duration_ms: int | None = None
    correct_count: int | None = None
    is_hidden: bool = False

    def order(self) -> tuple[Any, ...]:
        """Most points, then most correct answers, then fastest, then fan id."""
        return (-self.points, -(self.correct_count or 0), _duration(self.duration_ms), self.fan_id)


def _better(row: Document, current: Standing) -> bool:
    """Is this activity the fan's best: more correct, then faster, then earlier?"""
    if current.activity_at is None:
        return True
    new = (-(row.get("correct_count") or 0), _duration(row.get("duration_ms")))
    old = (-(current.correct_count or 0), _duration(current.duration_ms))
    return new < old


def _duration(value: int | None) -> int:
    return value if value is not None else 2**62  # no duration sorts after every duration


async def standings(db: Database, partner_id: str, campaign: Document) -> list[Standing]:
    """Every entrant of the campaign (awards linked to it or activities in it), unranked."""
    key = {"partner_id": partner_id, "campaign_id": campaign["campaign_id"]}
    awards = {**key, "point_type": {"$nin": NOT_ON_LEADERBOARDS}}
    by_fan: dict[str, Standing] = {}

    def of(fan_id: str) -> Standing:
        return by_fan.setdefault(fan_id, Standing(fan_id))

    group = {"$group": {"_id": "$fan_id", "total": {"$sum": "$count"}}}
    for condition, attr in ((conjoin(awards, {"count": {"$gt": 0}}), "points"),
                            (awards, "balance")):  # fmt: skip
        cursor = await db.fan_point_awards.aggregate([match_stage(condition), group])
        for row in await cursor.to_list(None):
            setattr(of(row["_id"]), attr, int(row["total"]))
    rows = await db.fan_activities.find(
        key, projection={"fan_id": 1, "created_at": 1, "duration_ms": 1, "correct_count": 1},
        sort=[("seq", 1)],
    ).to_list(None)  # fmt: skip
    for row in rows:
        entry = of(row["fan_id"])
        if _better(row, entry):
            entry.activity_at = row["created_at"]
            entry.duration_ms = row.get("duration_ms")
            entry.correct_count = row.get("correct_count")
    hidden = set(campaign.get("hidden_fan_ids") or [])
    for entry in by_fan.values():
        entry.is_hidden = entry.fan_id in hidden
    return list(by_fan.values())


def ranked(
    entries: Sequence[Standing], show_hidden: bool, limit: int
) -> list[tuple[int, Standing]]:
    """The top `limit` as (rank, standing); equal points, correct count and duration share a
    rank. Without `show_hidden`, hidden fans are left out before ranking (public ranks)."""
    shown = sorted((e for e in entries if show_hidden or not e.is_hidden), key=Standing.order)
    out: list[tuple[int, Standing]] = []
    for i, entry in enumerate(shown[:limit]):
        tie = out and out[-1][1].order()[:3] == entry.order()[:3]
        out.append((out[-1][0] if tie else i + 1, entry))
    return out
