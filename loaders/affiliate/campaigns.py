"""Brands and campaigns (network-wide) and partners' participations."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ReturnDocument

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import allowed_partners, owned
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    epoch_ms,
    in_key_order,
    paginate,
    utcnow,
)

# --- brands and campaigns (network-wide) ---------------------------------------------


async def insert_brand(
    db: Database, name: str, vertical: str, brand_id: str | None = None
) -> Document:
    doc: Document = {"_id": brand_id or new_id("brd"), "name": name, "vertical": vertical,
                     "created_at": utcnow()}  # fmt: skip
    await db.affiliate_brands.insert_one(doc)
    return doc


def new_camref() -> str:
    """A campaign's short public reference (the seed's `camref`, e.g. `hrDu67`): what
    reports and transaction queries name a campaign by."""
    return "".join(secrets.choice(_CAMREF_ALPHABET) for _ in range(6))


_CAMREF_ALPHABET = string.ascii_letters + string.digits


async def insert_campaign(db: Database, fields: Mapping[str, Any]) -> Document:
    doc: Document = {"_id": new_id("cmp"), "camref": new_camref(), **fields,
                     "created_at": utcnow()}  # fmt: skip
    await db.affiliate_campaigns.insert_one(doc)
    return doc


class BrandByIdLoader(ScopedLoader[str, Document | None]):
    """Brands by id (network-wide: every caller of the affiliate fields may see them)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        rows = await self.db.affiliate_brands.find({"_id": {"$in": keys}}).to_list(None)
        return in_key_order(keys, rows)


class CampaignByIdLoader(ScopedLoader[str, Document | None]):
    """Campaigns by id (network-wide)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        rows = await self.db.affiliate_campaigns.find({"_id": {"$in": keys}}).to_list(None)
        return in_key_order(keys, rows)


async def list_campaigns(
    db: Database,
    brand_id: str | None,
    statuses: Sequence[str],
    first: int | None,
    after: str | None,
) -> Page:
    """Campaigns ordered by brand then id, so one brand's campaigns are contiguous."""
    query: dict[str, Any] = {}
    if brand_id is not None:
        query["brand_id"] = brand_id
    if statuses:
        query["status"] = {"$in": list(statuses)}
    return await paginate(
        db.affiliate_campaigns, query, sort=[("brand_id", 1), ("_id", 1)], first=first, after=after
    )


# --- participations ------------------------------------------------------------------


class ParticipationByCampaignLoader(ScopedLoader[tuple[str, str], Document | None]):
    """A partner's participation on a campaign, keyed by (partner id, campaign id).

    The partner is part of the key so that an operator listing one partner's campaigns
    gets that partner's participations; the tenant filter still applies for staff.
    """

    async def load_batch(self, keys: list[tuple[str, str]]) -> list[Document | None]:
        self.scope.tenant()  # refuses credentials bound to no partner
        query = {
            "partner_id": {"$in": allowed_partners(self.scope, (p for p, _ in keys))},
            "campaign_id": {"$in": sorted({c for _, c in keys})},
        }
        rows = await self.db.affiliate_participations.find(query).to_list(None)
        by_key = {(r["partner_id"], r["campaign_id"]): r for r in rows}
        return [by_key.get(k) for k in keys]


async def insert_participation(
    db: Database, partner_id: str, campaign: Mapping[str, Any], terms_accepted: bool
) -> Document:
    """Request to join; raises DuplicateKeyError when the partner already asked."""
    now = utcnow()
    auto = bool(campaign.get("auto_approve", False))
    doc: Document = {
        "_id": new_id("ptc"),
        "partner_id": partner_id,
        "campaign_id": campaign["_id"],
        "brand_id": campaign["brand_id"],
        "status": "approved" if auto else "pending",
        "terms_accepted": terms_accepted,
        "requested_at": now,
        "decided_at": now if auto else None,
    }
    await db.affiliate_participations.insert_one(doc)
    return doc


async def decide_participation(
    db: Database, scope: Scope, participation_id: str, status: str
) -> Document | None:
    return await db.affiliate_participations.find_one_and_update(
        {**scope.tenant(), "_id": participation_id},
        # Epoch ms, not a datetime: the embedded store keeps a `$set` datetime as a string.
        {"$set": {"status": status, "decided_ms": epoch_ms(utcnow())}},
        return_document=ReturnDocument.AFTER,
    )


async def participation_status(db: Database, partner_id: str, campaign_id: str) -> str | None:
    doc = await db.affiliate_participations.find_one(
        {"partner_id": partner_id, "campaign_id": campaign_id}, projection={"status": 1}
    )
    return str(doc["status"]) if doc else None


async def list_participations(
    db: Database,
    scope: Scope,
    partner_id: str,
    statuses: Sequence[str],
    first: int | None,
    after: str | None,
) -> Page:
    query: dict[str, Any] = owned(scope, partner_id)
    if statuses:
        query["status"] = {"$in": list(statuses)}
    return await paginate(
        db.affiliate_participations, query, sort=[("_id", 1)], first=first, after=after
    )
