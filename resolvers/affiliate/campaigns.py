"""Brands, campaigns and participations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, Forbidden, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.base import Page
from resolvers.affiliate.common import partner_for

# --- brands, campaigns, participations -----------------------------------------------


async def create_brand(info: Info, name: str, vertical: str) -> Document:
    return await data.insert_brand(
        info.context.db, data.validate_text(name, "name", 120, required=True), vertical
    )


async def create_campaign(info: Info, fields: Mapping[str, Any]) -> Document:
    brand_id = parse_id(fields["brand_id"], "brd", "brandId")
    values = {
        "brand_id": brand_id,
        "title": data.validate_text(fields["title"], "title", 160, required=True),
        "currency": data.validate_currency(fields["currency"]),
        "vertical": fields["vertical"],
        "status": fields["status"],
        "default_destination_url": data.validate_url(
            fields["default_destination_url"], "defaultDestinationUrl"
        ),
        "custom_terms": bool(fields["custom_terms"]),
        "terms": data.validate_text(fields["terms"], "terms", 20_000),
        "auto_approve": bool(fields["auto_approve"]),
        "description": data.validate_text(fields["description"], "description", 2000),
    }
    if values["custom_terms"] and not values["terms"]:
        raise BadUserInput("campaigns with custom terms need their text", field="terms")
    brand = await info.context.loaders.get(data.BrandByIdLoader).load(brand_id)
    if brand is None:
        raise NotFound("Brand not found.", field="brandId")
    doc = await data.insert_campaign(info.context.db, values)
    info.context.loaders.get(data.CampaignByIdLoader).prime(doc["_id"], doc)
    return doc


async def campaign(info: Info, campaign_id: str, field: str = "campaignId") -> Document:
    doc: Document | None = await info.context.loaders.get(data.CampaignByIdLoader).load(
        parse_id(campaign_id, "cmp", field)
    )
    if doc is None:
        raise NotFound("Campaign not found.", field=field)
    return doc


async def campaigns(
    info: Info,
    partner_id: str | None,
    brand_id: str | None,
    statuses: Sequence[str],
    first: int | None,
    after: str | None,
) -> tuple[Page, str | None]:
    """A page of campaigns and the partner whose participation each shows (None: none)."""
    scope = info.context.scope
    viewer = partner_for(scope, partner_id) if partner_id is not None or not scope.is_operator \
        else None  # fmt: skip
    bid = parse_id(brand_id, "brd", "brandId") if brand_id is not None else None
    page = await data.list_campaigns(info.context.db, bid, statuses, first, after)
    info.context.loaders.prime_rows(data.CampaignByIdLoader, page.rows)
    return page, viewer


async def request_participation(
    info: Info, partner_id: str | None, campaign_id: str, accept_terms: bool
) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    doc = await campaign(info, campaign_id)
    if doc["status"] != "active":
        raise Conflict("The campaign is not accepting partners.", field="campaignId")
    if bool(doc.get("custom_terms")) and not accept_terms:
        raise BadUserInput("this campaign's terms must be accepted", field="acceptTerms")
    if await data.participation_status(info.context.db, pid, doc["_id"]) is not None:
        raise Conflict("Participation already requested.", field="campaignId")
    try:
        return await data.insert_participation(info.context.db, pid, doc, accept_terms)
    except DuplicateKeyError:
        raise Conflict("Participation already requested.", field="campaignId") from None


async def review_participation(info: Info, participation_id: str, status: str) -> Document:
    pid = parse_id(participation_id, "ptc")
    if status not in {"approved", "rejected"}:
        raise BadUserInput("a review approves or rejects", field="status")
    doc = await data.decide_participation(info.context.db, info.context.scope, pid, status)
    if doc is None:
        raise NotFound("Participation not found.")
    return doc


async def participations(
    info: Info, partner_id: str | None, statuses: Sequence[str], first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    pid = partner_for(info.context.scope, partner_id)
    return await data.list_participations(
        info.context.db, info.context.scope, pid, statuses, first, after
    )


async def require_approved(info: Info, partner_id: str, campaign_id: str) -> Document:
    doc = await campaign(info, campaign_id)
    status = await data.participation_status(info.context.db, partner_id, doc["_id"])
    if status != "approved":
        raise Forbidden("The partner is not approved on this campaign.", field="campaignId")
    return doc
