"""Given-state helpers for the affiliate tests: brands, campaigns, participations, events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.storage.mongo import Database, Document
from loaders import affiliate as data


@dataclass
class Catalogue:
    """One brand with campaigns in each interesting state."""

    brand: Document
    open: Document  # active, no custom terms, reviewed by hand
    terms: Document  # active, custom terms
    auto: Document  # active, auto-approves
    paused: Document


async def campaign(db: Database, brand: Document, title: str, **extra: Any) -> Document:
    fields: dict[str, Any] = {
        "brand_id": brand["_id"], "title": title, "currency": "GBP", "vertical": "retail",
        "status": "active", "default_destination_url": "https://shop.example/",
        "custom_terms": False, "terms": "", "auto_approve": False, "description": "",
    }  # fmt: skip
    fields.update(extra)
    return await data.insert_campaign(db, fields)


async def catalogue(db: Database, name: str = "Acme") -> Catalogue:
    brand = await data.insert_brand(db, name, "retail")
    return Catalogue(
        brand=brand,
        open=await campaign(db, brand, f"{name} Open"),
        terms=await campaign(db, brand, f"{name} Terms", custom_terms=True, terms="Be nice."),
        auto=await campaign(db, brand, f"{name} Auto", auto_approve=True),
        paused=await campaign(db, brand, f"{name} Paused", status="paused"),
    )


async def approve(db: Database, partner_id: str, campaign_doc: Document) -> Document:
    doc = await data.insert_participation(db, partner_id, campaign_doc, True)
    await db.affiliate_participations.update_one(
        {"_id": doc["_id"]}, {"$set": {"status": "approved"}}
    )
    return doc


async def clicks(
    db: Database, partner_id: str, campaign_doc: Document, moments: Sequence[datetime], **kw: Any
) -> list[Document]:
    docs = [data.click_doc(partner_id, campaign_doc, m, **kw) for m in moments]
    if docs:
        await db.affiliate_clicks.insert_many(docs)
    return docs


async def conversion(
    db: Database,
    partner_id: str,
    campaign_doc: Document,
    moment: datetime,
    *,
    value: int,
    commission: int,
    currency: str = "GBP",
    status: str = "approved",
    quantity: int = 1,
    **kw: Any,
) -> Document:
    doc = data.conversion_doc(
        partner_id, campaign_doc, moment, currency=currency, status=status,
        items=[{"value": value, "commission": commission, "quantity": quantity}], **kw,
    )  # fmt: skip
    return await data.insert_conversion(db, doc)
