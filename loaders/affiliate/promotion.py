"""What a partner promotes a campaign with: creatives (banners, text, HTML, email), product
feeds, and voucher codes.

Definitions are network-wide per campaign; a partner sees them only on campaigns it is
APPROVED on (the seed: "available on each participating campaign"), and a voucher code
aimed at named partners only when it is one of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import allowed_partners
from loaders.base import Page, Scope, ScopedLoader, epoch_ms, grouped_by, paginate, utcnow

CREATIVE_TYPES = ("banner", "text", "html", "email")
FEED_FORMATS = ("csv", "xml", "json")
KINDS = {"creative": ("crv", "affiliate_creatives"), "feed": ("fed", "affiliate_feeds"),
         "voucher": ("vou", "affiliate_voucher_codes")}  # fmt: skip


async def insert(db: Database, kind: str, fields: Mapping[str, Any]) -> Document:
    prefix, collection = KINDS[kind]
    now = utcnow()
    doc: Document = {"_id": new_id(prefix), **fields, "created_at": now,
                     "created_ms": epoch_ms(now)}  # fmt: skip
    await db[collection].insert_one(doc)
    return doc


class _ByCampaign(ScopedLoader[str, list[Document]]):
    collection = ""

    async def load_batch(self, keys: list[str]) -> list[list[Document]]:
        rows = (
            await self.db[self.collection]
            .find({"campaign_id": {"$in": keys}}, sort=[("_id", 1)])
            .to_list(None)
        )
        return grouped_by(keys, rows, "campaign_id")


class CreativesByCampaignLoader(_ByCampaign):
    """Creatives of each campaign, by id (network-wide; callers check participation)."""

    collection = "affiliate_creatives"


class FeedsByCampaignLoader(_ByCampaign):
    """Product feeds of each campaign, by id."""

    collection = "affiliate_feeds"


class VoucherCodesByCampaignLoader(_ByCampaign):
    """Voucher codes of each campaign, by id (callers filter by audience)."""

    collection = "affiliate_voucher_codes"


class ApprovedCampaignsLoader(ScopedLoader[str, set[str]]):
    """The campaigns each partner is APPROVED on (tenant-checked, one query)."""

    async def load_batch(self, keys: list[str]) -> list[set[str]]:
        self.scope.tenant()
        rows = await self.db.affiliate_participations.find(
            {"partner_id": {"$in": allowed_partners(self.scope, keys)}, "status": "approved"},
            projection={"partner_id": 1, "campaign_id": 1},
        ).to_list(None)
        return [{r["campaign_id"] for r in group} for group in grouped_by(keys, rows, "partner_id")]


def voucher_visible(doc: Mapping[str, Any], partner_id: str | None) -> bool:
    partners = doc.get("partner_ids") or []
    return partner_id is None or not partners or partner_id in partners


async def list_feeds(
    db: Database, scope: Scope, campaign_ids: Sequence[str], first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    """Feeds of the given campaigns (the partner's approved ones), by id."""
    scope.tenant()
    query = {"campaign_id": {"$in": list(campaign_ids)}, "active": True}
    return await paginate(db.affiliate_feeds, query, sort=[("_id", 1)], first=first, after=after)
