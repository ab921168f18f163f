"""What a partner promotes a campaign with: creatives (banners, text, HTML, email), product
feeds, and voucher codes.

Definitions are network-wide per campaign; a partner sees them only on campaigns it is
APPROVED on (the seed: "available on each participating campaign"), and a voucher code
aimed at named partners only when it is one of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ReturnDocument

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import allowed_partners
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    epoch_ms,
    grouped_by,
    in_key_order,
    paginate,
    utcnow,
)

CREATIVE_TYPES = ("banner", "text", "html", "email")
# The seed's numeric `creative_type` of clicks and reports (its banner sample is 1).
CREATIVE_TYPE_IDS = {"banner": 1, "text": 2, "html": 3, "email": 4}
FEED_FORMATS = ("csv", "xml", "json")
KINDS = {"creative": ("crv", "affiliate_creatives"), "feed": ("fed", "affiliate_feeds"),
         "voucher": ("vou", "affiliate_voucher_codes")}  # fmt: skip


async def next_creative_number(db: Database) -> int:
    """The next network-wide creative number (the seed's numeric `creative_id`, what clicks,
    reports and the analytics `creative` dimension carry). One atomic `$inc`: numbers only
    grow; a lost insert leaves a gap."""
    doc = await db.affiliate_counters.find_one_and_update(
        {"_id": "creative"}, {"$inc": {"seq": 1}}, upsert=True,
        return_document=ReturnDocument.AFTER,
    )  # fmt: skip
    if doc is None:  # cannot happen with upsert + AFTER; keeps the type honest
        raise RuntimeError("counter upsert returned nothing")
    return int(doc["seq"])


async def insert(db: Database, kind: str, fields: Mapping[str, Any]) -> Document:
    prefix, collection = KINDS[kind]
    now = utcnow()
    doc: Document = {"_id": new_id(prefix), **fields, "created_at": now,
                     "created_ms": epoch_ms(now)}  # fmt: skip
    if kind == "creative" and "number" not in doc:
        doc["number"] = await next_creative_number(db)
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


def creative_attribution(creative: Mapping[str, Any] | None) -> dict[str, Any]:
    """The creative fields a click stores (and its conversion copies): the seed's numeric
    `creative_id`, `creative_type` and `specific_creative_id` (creatives here have one item,
    so the specific creative is the creative itself), plus `creative_ref`, its `crv_` id.
    All 0 / "" for a click through no creative."""
    if creative is None:
        return {"creative_id": 0, "creative_type": 0, "specific_creative_id": 0,
                "creative_ref": ""}  # fmt: skip
    number = int(creative.get("number") or 0)
    return {"creative_id": number, "creative_type": CREATIVE_TYPE_IDS.get(creative["type"], 0),
            "specific_creative_id": number, "creative_ref": str(creative["_id"])}  # fmt: skip


async def campaign_creative(db: Database, campaign_id: str, creative_id: str) -> Document | None:
    """An active creative of the campaign (None: unknown, another campaign's, or inactive)."""
    return await db.affiliate_creatives.find_one(
        {"_id": creative_id, "campaign_id": campaign_id, "active": True}
    )


class CreativeByIdLoader(ScopedLoader[str, Document | None]):
    """Creatives by `crv_` id (network-wide definitions; a click names its own campaign's)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        rows = await self.db.affiliate_creatives.find({"_id": {"$in": keys}}).to_list(None)
        return in_key_order(keys, rows)


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


def voucher_status(
    code: str, campaign_codes: Sequence[Mapping[str, Any]], partner_id: str, at_ms: int
) -> str:
    """The analytics `voucher_status` of a code used on a conversion at `at_ms`: `unknown`
    (not one of the campaign's codes), `expired` (its end passed), `invalid` (inactive, not
    started yet, or exclusive to other partners), else `valid`. Codes compare
    case-insensitively, as shoppers type them."""
    wanted = code.strip().lower()
    doc = next((c for c in campaign_codes if str(c["code"]).lower() == wanted), None)
    if doc is None:
        return "unknown"
    if int(doc.get("end_ms", 0)) <= at_ms:
        return "expired"
    aimed = doc.get("partner_ids") or []
    if not doc.get("active") or int(doc.get("start_ms", 0)) > at_ms or (
        aimed and partner_id not in aimed
    ):
        return "invalid"
    return "valid"
