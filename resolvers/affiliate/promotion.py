"""Creatives, product feeds and voucher codes: the operator adds them to campaigns; a
partner sees those of campaigns it is approved on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import commissions as com
from loaders.affiliate import promotion
from loaders.base import Page, ScopedLoader, epoch_ms
from resolvers.affiliate.campaigns import campaign as load_campaign
from resolvers.affiliate.common import partner_for

MAX_SIDE = 4000


async def create_creative(info: Info, fields: Mapping[str, Any]) -> Document:
    kind = fields["type"]
    name = data.validate_text(fields["name"], "name", 120, required=True)
    width, height = fields["width"], fields["height"]
    if kind == "banner":
        if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
            raise BadUserInput(f"a banner is 1..{MAX_SIDE} pixels each way", field="width")
        image = data.validate_url(fields["image_url"] or "", "imageUrl")
    elif width or height or fields["image_url"]:
        raise BadUserInput("only banners have a size and an image", field="width")
    else:
        image = ""
    text = data.validate_text(fields["text"], "text", 2000, required=kind != "banner")
    campaign = await load_campaign(info, fields["campaign_id"])
    return await promotion.insert(info.context.db, "creative", {
        "campaign_id": campaign["_id"], "type": kind, "name": name, "width": width,
        "height": height, "image_url": image, "text": text, "active": bool(fields["active"]),
    })  # fmt: skip


async def create_feed(info: Info, fields: Mapping[str, Any]) -> Document:
    name = data.validate_text(fields["name"], "name", 120, required=True)
    url = data.validate_url(fields["url"], "url")
    if not 0 <= fields["product_count"] <= 100_000_000:
        raise BadUserInput("0..100,000,000", field="productCount")
    campaign = await load_campaign(info, fields["campaign_id"])
    return await promotion.insert(info.context.db, "feed", {
        "campaign_id": campaign["_id"], "name": name, "format": fields["format"], "url": url,
        "product_count": fields["product_count"], "active": bool(fields["active"]),
    })  # fmt: skip


def _window(start: datetime | None, end: datetime | None) -> tuple[int, int]:
    lo, hi = epoch_ms(start) if start else 0, epoch_ms(end) if end else com.OPEN_END_MS
    if hi <= lo:
        raise BadUserInput("must be after startsAt", field="endsAt")
    return lo, hi


async def create_voucher_code(info: Info, fields: Mapping[str, Any]) -> Document:
    code = data.validate_text(fields["code"], "code", 64, required=True)
    if any(ch.isspace() for ch in code):
        raise BadUserInput("a code has no spaces", field="code")
    description = data.validate_text(fields["description"], "description", 500)
    start_ms, end_ms = _window(fields["starts_at"], fields["ends_at"])
    partner_ids = sorted({parse_id(p, "par", "partnerIds") for p in fields["partner_ids"]})
    campaign = await load_campaign(info, fields["campaign_id"])
    if partner_ids and await com.existing_partner_ids(info.context.db, partner_ids) != set(
        partner_ids
    ):
        raise NotFound("Partner not found.", field="partnerIds")
    try:
        return await promotion.insert(info.context.db, "voucher", {
            "campaign_id": campaign["_id"], "code": code, "description": description,
            "start_ms": start_ms, "end_ms": end_ms, "active": bool(fields["active"]),
            "partner_ids": partner_ids,
        })  # fmt: skip
    except DuplicateKeyError:
        raise Conflict("The campaign has this code already.", field="code") from None


async def _approved(info: Info, viewer: str | None, campaign_id: str) -> bool:
    if viewer is None:
        return True  # operators naming no partner see every definition
    approved = await info.context.loaders.get(promotion.ApprovedCampaignsLoader).load(viewer)
    return campaign_id in approved


async def for_campaign(
    info: Info, loader: type[ScopedLoader[str, list[Document]]], campaign_id: str,
    viewer: str | None,
) -> list[Document]:  # fmt: skip
    """A campaign's creatives / feeds / voucher codes the viewer may see (by id)."""
    rows = await info.context.loaders.get(loader).load(campaign_id)
    if not await _approved(info, viewer, campaign_id):
        return []
    if loader is promotion.VoucherCodesByCampaignLoader:
        rows = [r for r in rows if promotion.voucher_visible(r, viewer)]
    return rows


async def feeds(info: Info, partner_id: str | None, first: int | None, after: str | None) -> Page:
    """The active product feeds of every campaign the partner is approved on."""
    pid = partner_for(info.context.scope, partner_id)
    approved = await info.context.loaders.get(promotion.ApprovedCampaignsLoader).load(pid)
    return await promotion.list_feeds(info.context.db, info.context.scope, sorted(approved),
                                      first, after)  # fmt: skip


async def link_for(info: Info, link_id: str, campaign_id: str) -> Document:
    lid = parse_id(link_id, "lnk", "linkId")
    link = await info.context.loaders.get(data.LinkByIdLoader).load(lid)
    if link is None or link["campaign_id"] != campaign_id:
        raise NotFound("Tracking link not found on this campaign.", field="linkId")
    return link
