"""Commissions: a campaign's default commission and its commission terms (cookie period,
tracking settings, on the campaign document), the commission list (standard, voucher,
promotional, tiered, and default overrides), and commission groups with their members.

Commission definitions are network-wide like campaigns, but each names its audience:
`partner_ids` and `group_ids` (both empty: every partner of the campaign). A partner only
ever sees the definitions whose audience includes it or one of its groups (`visible`), so
a commission negotiated for one partner never shows to another. Membership rows
(`affiliate_commission_group_members`) are tenant-owned.

Rates are stored as integer parts per million of the sale (`rate_ppm`: 50_000 = 5 %) and
fixed amounts in minor units of the campaign currency, so nothing drifts in floating point;
the API shows rates on the one scale it uses everywhere: fractions 0..1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import allowed_partners, owned
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    check_first,
    decode_cursor,
    encode_cursor,
    epoch_ms,
    grouped_by,
    in_key_order,
    paginate,
    utcnow,
)

COMMISSION_KINDS = ("default", "standard", "voucher", "promotional", "tiered")
# Kinds the seed's "active commissions" lists (tiered bonuses are evaluated per period).
ACTIVE_KINDS = ("default", "standard", "voucher", "promotional")
MODELS = ("percentage", "fixed_cpa", "cpc")
MEASUREMENTS = ("total_items", "total_conversions", "total_order_value")
REWARD_MODELS = ("fixed_reward", "percentage_reward")
DEFAULT_COOKIE_PERIOD_DAYS = 30
TRACKING_METHODS = ("s2s", "pixel", "api")
CONVERSION_TYPES = ("sale", "lead")
TRACKING_DEFAULTS: dict[str, Any] = {
    "method": "s2s",
    "allow_deep_linking": True,
    "secure_tracking": True,
    "multiple_conversions_per_click": False,
    "conversion_type": "sale",
}
OPEN_END_MS = 2**53  # "no end": explicit, since the store matches no nulls
PPM = 1_000_000


def default_rate(campaign: Mapping[str, Any]) -> dict[str, Any]:
    """The campaign's own default commission (0 % when the brand set none)."""
    stored = campaign.get("default_commission") or {}
    return {
        "model": str(stored.get("model", "percentage")),
        "rate_ppm": int(stored.get("rate_ppm", 0)),
        "amount": int(stored.get("amount", 0)),
        "description": str(stored.get("description", "")),
    }


def tracking_settings(campaign: Mapping[str, Any]) -> dict[str, Any]:
    return {**TRACKING_DEFAULTS, **(campaign.get("tracking") or {})}


def cookie_period_days(campaign: Mapping[str, Any]) -> int:
    return int(campaign.get("cookie_period_days") or DEFAULT_COOKIE_PERIOD_DAYS)


def visible(doc: Mapping[str, Any], partner_id: str | None, group_ids: Iterable[str]) -> bool:
    """Whether a commission's audience includes the partner (None: an operator, sees all)."""
    partners, groups = doc.get("partner_ids") or [], doc.get("group_ids") or []
    if partner_id is None or (not partners and not groups):
        return True
    return partner_id in partners or bool(set(groups) & set(group_ids))


def is_active(doc: Mapping[str, Any], at_ms: int) -> bool:
    return doc.get("status") == "active" and int(doc.get("start_ms", 0)) <= at_ms < int(
        doc.get("end_ms", OPEN_END_MS)
    )


def effective_default(
    campaign: Mapping[str, Any],
    commissions: Sequence[Mapping[str, Any]],
    partner_id: str | None,
    group_ids: Iterable[str],
    at_ms: int,
) -> tuple[dict[str, Any], Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """(effective rate, partner override, group override) of a campaign's default commission.

    An active `default` commission aimed at the partner beats one aimed at one of its
    groups, which beats the campaign's own default (the seed's default commission with its
    `publishers` and `groups` rates). Among several of one audience the newest wins.
    """
    groups = set(group_ids)
    overrides = [
        c for c in commissions
        if c.get("kind") == "default" and is_active(c, at_ms) and partner_id is not None
    ]  # fmt: skip
    newest = sorted(overrides, key=lambda c: (int(c.get("created_ms", 0)), str(c["_id"])))
    partner = next((c for c in reversed(newest) if partner_id in (c.get("partner_ids") or [])),
                   None)  # fmt: skip
    group = next((c for c in reversed(newest) if groups & set(c.get("group_ids") or [])), None)
    chosen = partner or group
    if chosen is None:
        return default_rate(campaign), None, None
    rate = {"model": chosen["model"], "rate_ppm": int(chosen.get("rate_ppm", 0)),
            "amount": int(chosen.get("amount", 0)),
            "description": str(chosen.get("description", ""))}  # fmt: skip
    return rate, partner, group


async def insert_commission(db: Database, fields: Mapping[str, Any]) -> Document:
    now = utcnow()
    doc: Document = {"_id": new_id("com"), **fields, "created_at": now,
                     "created_ms": epoch_ms(now)}  # fmt: skip
    await db.affiliate_commissions.insert_one(doc)
    return doc


async def insert_commission_group(db: Database, fields: Mapping[str, Any]) -> Document:
    now = utcnow()
    doc: Document = {"_id": new_id("cgr"), **fields, "created_at": now,
                     "created_ms": epoch_ms(now)}  # fmt: skip
    await db.affiliate_commission_groups.insert_one(doc)
    return doc


async def insert_group_member(db: Database, group: Mapping[str, Any], partner_id: str) -> Document:
    """Add a partner to a group; raises DuplicateKeyError when it is already a member."""
    now = utcnow()
    doc: Document = {"_id": new_id("cgm"), "group_id": group["_id"],
                     "campaign_id": group["campaign_id"], "partner_id": partner_id,
                     "created_at": now, "created_ms": epoch_ms(now)}  # fmt: skip
    await db.affiliate_commission_group_members.insert_one(doc)
    return doc


async def existing_partner_ids(db: Database, ids: Sequence[str]) -> set[str]:
    rows = await db.partners.find({"_id": {"$in": list(ids)}}, projection={"_id": 1}).to_list(None)
    return {r["_id"] for r in rows}


async def groups_of_campaign(db: Database, campaign_id: str, ids: Sequence[str]) -> set[str]:
    query = {"_id": {"$in": list(ids)}, "campaign_id": campaign_id}
    rows = await db.affiliate_commission_groups.find(query, projection={"_id": 1}).to_list(None)
    return {r["_id"] for r in rows}


class CommissionsByCampaignLoader(ScopedLoader[str, list[Document]]):
    """Every commission definition of each campaign, ordered by id (one query).

    Network-wide rows: callers filter them with `visible` for the partner they show."""

    async def load_batch(self, keys: list[str]) -> list[list[Document]]:
        rows = await self.db.affiliate_commissions.find(
            {"campaign_id": {"$in": keys}}, sort=[("_id", 1)]
        ).to_list(None)
        return grouped_by(keys, rows, "campaign_id")


class GroupIdsByPartnerLoader(ScopedLoader[str, list[str]]):
    """The commission groups each partner belongs to (tenant-checked, one query)."""

    async def load_batch(self, keys: list[str]) -> list[list[str]]:
        self.scope.tenant()  # refuses credentials bound to no partner
        query = {"partner_id": {"$in": allowed_partners(self.scope, keys)}}
        rows = await self.db.affiliate_commission_group_members.find(
            query, projection={"partner_id": 1, "group_id": 1}
        ).to_list(None)
        return [[r["group_id"] for r in group] for group in grouped_by(keys, rows, "partner_id")]


class CommissionGroupByIdLoader(ScopedLoader[str, Document | None]):
    """Commission groups by id (definitions are network-wide; membership is not)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        rows = await self.db.affiliate_commission_groups.find({"_id": {"$in": keys}}).to_list(None)
        return in_key_order(keys, rows)


async def list_memberships(
    db: Database, scope: Scope, partner_id: str, first: int | None, after: str | None
) -> Page:
    """A partner's commission-group memberships, oldest first."""
    return await paginate(
        db.affiliate_commission_group_members, owned(scope, partner_id),
        sort=[("_id", 1)], first=first, after=after,
    )  # fmt: skip


def page_rows(rows: Sequence[Document], key: str, first: int | None, after: str | None) -> Page:
    """A keyset page over rows already in memory and sorted by `key` (a unique string)."""
    limit = check_first(first)
    start = 0
    if after is not None:
        (last,) = decode_cursor(after, 1)
        start = next((i for i, r in enumerate(rows) if str(r[key]) > str(last)), len(rows))
    chunk = list(rows[start : start + limit])
    total = len(rows)

    async def count() -> int:
        return total

    return Page(
        rows=chunk, cursors=[encode_cursor([str(r[key])]) for r in chunk],
        has_next_page=start + limit < total, count=count,
    )  # fmt: skip


def at_ms(moment: datetime | None) -> int:
    return epoch_ms(moment or utcnow())
