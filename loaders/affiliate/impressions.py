"""Impressions: how often a partner's creatives were shown, per campaign and creative.

One document per (partner, campaign, creative, time) with a `count` of impressions, and
the same time fields (`ts`, `slot`) and dimension fields as clicks, so the analytics
pipelines treat it as a third data source (metric `total_impressions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.dimensions import click_dimension_fields
from loaders.affiliate.events import time_fields


def impression_doc(
    partner_id: str,
    campaign: Mapping[str, Any],
    occurred_at: datetime,
    *,
    count: int = 1,
    creative_id: int = 0,
    device: str = "other",
    publisher_reference: str = "",
    advertiser_reference: str = "",
    user_agent: str = "",
    impression_id: str | None = None,
) -> Document:
    """Impressions as stored (`count` >= 1 of them at `occurred_at`)."""
    if count < 1:
        raise ValueError("an impression document counts at least one impression")
    return {
        "_id": impression_id or new_id("imp"),
        "partner_id": partner_id,
        "campaign_id": campaign["_id"],
        "brand_id": campaign["brand_id"],
        **time_fields(occurred_at),
        "count": count,
        "creative_id": creative_id,
        "device": device,
        "publisher_reference": publisher_reference,
        "advertiser_reference": advertiser_reference,
        **click_dimension_fields(user_agent, campaign),
    }


async def insert_impressions(db: Database, docs: Sequence[Document]) -> None:
    if docs:
        await db.affiliate_impressions.insert_many(list(docs))
