"""The partner's publisher profile and websites."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import ReturnDocument

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import allowed_partners
from loaders.base import (
    Scope,
    ScopedLoader,
    epoch_ms,
    grouped_by,
    in_key_order,
    utcnow,
)

# --- partner profile -----------------------------------------------------------------

PROFILE_DEFAULTS: dict[str, Any] = {
    "account_name": "",
    "company_name": "",
    "contact_name": "",
    "contact_email": None,
    "contact_locale": "en",
    "default_currency": "USD",
    "reporting_timezone": "UTC",
    "operating_country": None,
    "vertical": None,
    "promotional_method": None,
    "week_start": "monday",
    "network_status": "active",
    # contact and tax identifiers (loaders/affiliate/identifiers.py)
    "phone": None,
    "phone_area": None,
    "im_provider": None,
    "im_username": None,
    "legal_entity": None,
    "company_division": "",
    "description": "",
    "logo_url": None,
    "vat_number": None,
    "uk_vat_registered": False,
    "gst_registered": False,
    "abn": None,
    "us_tax_state": None,
}


def profile_value(doc: Mapping[str, Any], key: str) -> Any:
    return doc.get(key, PROFILE_DEFAULTS[key])


async def update_partner_profile(
    db: Database, partner_id: str, changes: Mapping[str, Any]
) -> Document | None:
    """Set the given profile fields (already validated); None when the partner is missing."""
    update: dict[str, Any] = {"$set": {**changes, "profile_updated_ms": epoch_ms(utcnow())}}
    return await db.partners.find_one_and_update(
        {"_id": partner_id}, update, return_document=ReturnDocument.AFTER
    )


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


async def reporting_timezone(db: Database, partner_id: str) -> str:
    doc = await db.partners.find_one({"_id": partner_id}, projection={"reporting_timezone": 1})
    return str(profile_value(doc or {}, "reporting_timezone"))


async def week_start_index(db: Database, partner_id: str) -> int:
    """The partner's first day of the reporting week, 0 = Monday."""
    doc = await db.partners.find_one({"_id": partner_id}, projection={"week_start": 1})
    return WEEKDAYS.index(str(profile_value(doc or {}, "week_start")))


async def partner_name(db: Database, partner_id: str) -> str:
    doc = await db.partners.find_one({"_id": partner_id}, projection={"name": 1})
    return str(doc["name"]) if doc else ""


async def campaign_titles(db: Database) -> dict[str, str]:
    """Every campaign's title by id (campaigns are network-wide, and few)."""
    cursor = db.affiliate_campaigns.find({}, projection={"title": 1})
    return {c["_id"]: c["title"] async for c in cursor}


async def campaign_camrefs(db: Database) -> dict[str, str]:
    """Every campaign's `camref` by id ('' for campaigns created before camrefs existed)."""
    cursor = db.affiliate_campaigns.find({}, projection={"camref": 1})
    return {c["_id"]: str(c.get("camref", "")) async for c in cursor}


# --- websites ------------------------------------------------------------------------


async def insert_website(db: Database, partner_id: str, fields: Mapping[str, Any]) -> Document:
    now = utcnow()
    doc: Document = {"_id": new_id("web"), "partner_id": partner_id, **fields,
                     "created_at": now, "created_ms": epoch_ms(now)}  # fmt: skip
    await db.affiliate_websites.insert_one(doc)
    if doc.get("primary"):
        await _demote_other_primaries(db, partner_id, doc["_id"])
    return doc


async def update_website(
    db: Database, scope: Scope, website_id: str, changes: Mapping[str, Any]
) -> Document | None:
    doc = await db.affiliate_websites.find_one_and_update(
        {**scope.tenant(), "_id": website_id},
        {"$set": {**changes, "updated_ms": epoch_ms(utcnow())}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is not None and changes.get("primary"):
        await _demote_other_primaries(db, doc["partner_id"], doc["_id"])
    return doc


async def _demote_other_primaries(db: Database, partner_id: str, keep_id: str) -> None:
    # One primary website per partner: the latest one marked primary wins.
    await db.affiliate_websites.update_many(
        {"partner_id": partner_id, "_id": {"$ne": keep_id}, "primary": True},
        {"$set": {"primary": False}},
    )


class WebsitesByPartnerLoader(ScopedLoader[str, list[Document]]):
    """A partner's websites (oldest first), one query for all partners asked for."""

    async def load_batch(self, keys: list[str]) -> list[list[Document]]:
        self.scope.tenant()  # refuses credentials bound to no partner
        query = {"partner_id": {"$in": allowed_partners(self.scope, keys)}}
        rows = await self.db.affiliate_websites.find(
            query, sort=[("created_ms", 1), ("_id", 1)]
        ).to_list(None)
        return grouped_by(keys, rows, "partner_id")


class WebsiteByIdLoader(ScopedLoader[str, Document | None]):
    """Websites by id, within the caller's tenant (one query)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.affiliate_websites.find(query).to_list(None)
        return in_key_order(keys, rows)
