"""Clicks and conversions: documents, inserts, the filtered lists and per-currency totals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import SLOT_MS, owned
from loaders.affiliate.dimensions import click_dimension_fields, conversion_dimension_fields
from loaders.base import (
    Page,
    Scope,
    match_stage,
    paginate,
)

# --- clicks and conversions ----------------------------------------------------------


def time_fields(occurred_at: datetime) -> dict[str, Any]:
    """`occurred_at` plus the bucket fields analytics filter and group on."""
    occurred_at = occurred_at.astimezone(UTC)
    ts = int(occurred_at.timestamp() * 1000)
    return {
        "occurred_at": occurred_at,
        "ts": ts,
        "slot": ts - ts % SLOT_MS,
        "day": occurred_at.strftime("%Y-%m-%d"),
    }


# multipivot pivots (the seed's list is cut off; these are the pivots both reports store)
PIVOT_FIELDS = {"campaign": "campaign_id", "country": "country", "device": "device",
                "creative_id": "creative_id", "creative_type": "creative_type"}  # fmt: skip


# link parameters the click stores as fields (publisher / advertiser reference, its id)
OWN_FIELD_PARAMS = frozenset({"pubref", "adref", "clickref"})


def click_doc(
    partner_id: str,
    campaign: Mapping[str, Any],
    occurred_at: datetime,
    *,
    click_id: str | None = None,
    cookie_id: str = "",
    country: str = "",
    device: str = "other",
    link_id: str = "",
    publisher_reference: str = "",
    advertiser_reference: str = "",
    referer: str = "",
    ip: str = "",
    user_agent: str = "",
    creative_id: int = 0,
    creative_type: int = 0,
    specific_creative_id: int = 0,
    creative_ref: str = "",
    params: Sequence[Mapping[str, Any]] = (),
) -> Document:
    """A click as stored. `set_*` is the first visit; a duplicate visit (same visitor and
    link within the duplicate window, see `loaders.affiliate.tracking`) moves `last_ms` /
    `last_ip` instead of adding a row. Creative ids are 0 when the click came through no
    creative, as in the seed's own reports."""
    return {
        "_id": click_id or new_id("clk"),
        "partner_id": partner_id,
        "campaign_id": campaign["_id"],
        "brand_id": campaign["brand_id"],
        **time_fields(occurred_at),
        "cookie_id": cookie_id or new_id("ck"),
        "country": country,
        "device": device,
        "link_id": link_id,
        "publisher_reference": publisher_reference,
        "advertiser_reference": advertiser_reference,
        "referer": referer,
        "ip": ip,
        "last_ip": ip,
        "last_ms": int(occurred_at.timestamp() * 1000),
        "user_agent": user_agent,
        "creative_id": creative_id,
        "creative_type": creative_type,
        "specific_creative_id": specific_creative_id,
        "creative_ref": creative_ref,  # the creative's `crv_` id (promotion.creative_attribution)
        "type": "standard",
        # browser / OS of the agent; partnership model, traffic source, user context from
        # the campaign's terms and the link's params (`dimensions.click_attribution`)
        **click_dimension_fields(user_agent, campaign, params),
        # the seed's click `meta_data`: the link's parameters without a field of their own
        "meta": [{"key": str(p["key"]), "value": str(p["value"])} for p in params
                 if p.get("key") not in OWN_FIELD_PARAMS],
        # 0/1, not a boolean: `$sum` adds numbers only, and the store reads `$set`
        # booleans back as 1/0 anyway.
        "converted": 0,
    }


def conversion_doc(
    partner_id: str,
    campaign: Mapping[str, Any],
    occurred_at: datetime,
    *,
    currency: str,
    status: str,
    items: Sequence[Mapping[str, Any]],
    conversion_id: str | None = None,
    click: Mapping[str, Any] | None = None,
    country: str = "",
    device: str = "other",
    conversion_reference: str = "",
    advertiser_reference: str = "",
    publisher_reference: str = "",
    customer_reference: str = "",
    customer_type: str = "new",
    currency_original: str | None = None,
    currency_conversion_rate: float = 1.0,
    was_disputed: bool = False,
    meta_data: Mapping[str, str] | None = None,
    modified_at: datetime | None = None,
    voucher_status: str = "",
) -> Document:
    """A conversion as stored, with the attributed click's facts copied in (its IP as
    `referer_ip`, its referer, its creative), because the reports show them per conversion
    and the click may be read by nobody else. `currency_original` / `currency_conversion_rate`
    are what the brand reported before the network converted into `currency` (same currency,
    rate 1, when nothing was converted). `meta_data` (conversion and items) is the brand's
    key/value pairs, stored as a list of `{key, value}` (keys may hold `.` or `$`).
    `modified_ms` is the last change (the seed's `last_modified`, what
    `dateType: LAST_MODIFIED` ranges over): the recording time, moved by every update."""
    modified = modified_at or occurred_at
    stored_items = [
        {
            "item_id": f"{conversion_id or 'itm'}-{i}" if conversion_id else new_id("itm"),
            "sku": str(item.get("sku", "")),
            "category": str(item.get("category", "")),
            "quantity": int(item.get("quantity", 1)),
            "value": int(item["value"]),
            "commission": int(item["commission"]),
            "status": str(item.get("status") or status),
            "voucher_codes": [str(c) for c in item.get("voucher_codes") or []],
            "meta": meta_pairs(item.get("meta_data")),
            "reject_reason": str(item.get("reject_reason") or ""),
        }
        for i, item in enumerate(items)
    ]
    codes = [str(c) for item in items for c in item.get("voucher_codes") or []]
    return {
        "_id": conversion_id or new_id("cnv"),
        "partner_id": partner_id,
        "campaign_id": campaign["_id"],
        "brand_id": campaign["brand_id"],
        **time_fields(occurred_at),
        "currency": currency,
        "status": status,
        "rejected": 1 if status == "rejected" else 0,
        "items": stored_items,
        "item_count": sum(i["quantity"] for i in stored_items),
        "value": sum(i["value"] for i in stored_items),
        "commission": sum(i["commission"] for i in stored_items),
        "click_id": click["_id"] if click else "",
        "clicked_at": click["occurred_at"] if click else None,
        "cookie_id": click["cookie_id"] if click else "",
        "referer_ip": str(click.get("ip", "")) if click else "",
        "source_referer": str(click.get("referer", "")) if click else "",
        "creative_id": int(click.get("creative_id", 0)) if click else 0,
        "creative_type": int(click.get("creative_type", 0)) if click else 0,
        "specific_creative_id": int(click.get("specific_creative_id", 0)) if click else 0,
        "creative_ref": str(click.get("creative_ref", "")) if click else "",
        "currency_original": currency_original or currency,
        "currency_conversion_rate": float(currency_conversion_rate),
        "was_disputed": 1 if was_disputed else 0,
        "selfbill_id": "",  # the self-bill that pays it (loaders/affiliate/money.py)
        "country": country,
        "device": device,
        "conversion_reference": conversion_reference,
        "advertiser_reference": advertiser_reference,
        "publisher_reference": publisher_reference,
        "customer_reference": customer_reference,
        "customer_type": customer_type,
        "meta": meta_pairs(meta_data),
        "modified_ms": int(modified.timestamp() * 1000),
        **conversion_dimension_fields(click, campaign),
        # the first voucher code of the basket is the conversion's (analytics `voucher_code`),
        # `voucher_status` whether it is one of the campaign's (`promotion.voucher_status`)
        "voucher_code": codes[0] if codes else "",
        "voucher_status": voucher_status if codes else "",
    }


def meta_pairs(meta: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"key": str(k), "value": str(v)} for k, v in (meta or {}).items()]


async def insert_click(db: Database, doc: Document) -> Document:
    await db.affiliate_clicks.insert_one(doc)
    return doc


async def find_click(db: Database, partner_id: str, click_id: str) -> Document | None:
    return await db.affiliate_clicks.find_one({"partner_id": partner_id, "_id": click_id})


async def insert_conversion(db: Database, doc: Document) -> Document:
    await db.affiliate_conversions.insert_one(doc)
    if doc["click_id"]:
        await db.affiliate_clicks.update_one(
            {"partner_id": doc["partner_id"], "_id": doc["click_id"]}, {"$set": {"converted": 1}}
        )
    return doc


@dataclass(frozen=True)
class EventFilter:
    """Filters of the clicks / conversions lists and exports (already validated)."""

    partner_id: str
    start_ms: int | None = None
    end_ms: int | None = None
    campaign_ids: Sequence[str] = ()
    statuses: Sequence[str] = ()
    currencies: Sequence[str] = ()
    # exact matches on reference fields (the seed's conversion_reference / ref filters)
    references: Mapping[str, str] = field(default_factory=dict)
    # "standard": the range applies to when it happened; "last_modified": to its last change
    date_type: str = "standard"
    # the seed's export filters `conversion_id` and `ref_conversion_metric_id`
    conversion_id: str = ""
    conversion_metric_ids: Sequence[str] = ()
    # the seed's `multipivot[{pivot}][]`: stored field -> accepted values (AND across pivots)
    pivots: Mapping[str, Sequence[Any]] = field(default_factory=dict)

    def query(self, scope: Scope, conversions: bool) -> dict[str, Any]:
        query: dict[str, Any] = owned(scope, self.partner_id)
        ts: dict[str, int] = {}
        if self.start_ms is not None:
            ts["$gte"] = self.start_ms
        if self.end_ms is not None:
            ts["$lt"] = self.end_ms
        if ts:
            modified = conversions and self.date_type == "last_modified"
            query["modified_ms" if modified else "ts"] = ts
        if self.campaign_ids:
            query["campaign_id"] = {"$in": list(self.campaign_ids)}
        if conversions and self.statuses:
            query["status"] = {"$in": list(self.statuses)}
        if conversions and self.currencies:
            query["currency"] = {"$in": list(self.currencies)}
        if conversions and self.conversion_id:
            query["_id"] = self.conversion_id
        if conversions and self.conversion_metric_ids:
            query["conversion_metric_id"] = {"$in": list(self.conversion_metric_ids)}
        for key, value in self.references.items():
            if conversions or key in CLICK_REFERENCES:
                query[key] = value
        for key, values in self.pivots.items():
            wanted = list(values)
            if key in query:  # campaignId and a campaign pivot: both must hold
                wanted = [v for v in wanted if v in query[key]["$in"]]
            query[key] = {"$in": wanted}
        return query


EVENT_SORT = [("ts", -1), ("_id", -1)]
CONVERSION_REFERENCES = {"conversionReference": "conversion_reference",
                         "advertiserReference": "advertiser_reference",
                         "publisherReference": "publisher_reference",
                         "customerReference": "customer_reference"}  # fmt: skip
CLICK_REFERENCES = frozenset({"publisher_reference", "advertiser_reference"})


async def list_clicks(
    db: Database, scope: Scope, filters: EventFilter, first: int | None, after: str | None
) -> Page:
    """Newest first; keyset on (ts, _id), so rows inserted meanwhile never shift a page."""
    query = filters.query(scope, conversions=False)
    return await paginate(db.affiliate_clicks, query, sort=EVENT_SORT, first=first, after=after)


async def unique_click_count(db: Database, scope: Scope, filters: EventFilter) -> int:
    """Distinct visitors (cookies) among the matching clicks: the seed's `unique_click_count`
    (exact, where the seed's analytics approximate)."""
    pipeline: list[dict[str, Any]] = [
        match_stage(filters.query(scope, conversions=False)),
        {"$group": {"_id": "$cookie_id"}},
        {"$group": {"_id": None, "n": {"$sum": 1}}},
    ]
    rows = await (await db.affiliate_clicks.aggregate(pipeline)).to_list(None)
    return int(rows[0]["n"]) if rows else 0


async def list_conversions(
    db: Database, scope: Scope, filters: EventFilter, first: int | None, after: str | None
) -> Page:
    query = filters.query(scope, conversions=True)
    return await paginate(
        db.affiliate_conversions, query, sort=EVENT_SORT, first=first, after=after
    )


def iter_events(
    db: Database, scope: Scope, filters: EventFilter, conversions: bool, batch_size: int = 500
) -> Any:
    """A cursor over every matching event, newest first (for the CSV exports)."""
    collection = db.affiliate_conversions if conversions else db.affiliate_clicks
    return collection.find(
        filters.query(scope, conversions), sort=EVENT_SORT, batch_size=batch_size
    )


@dataclass
class CurrencyTotals:
    """Totals of matching conversions in one currency (money in minor units)."""

    currency: str
    conversions: int = 0
    value: int = 0
    commission: int = 0
    payable_conversions: int = 0
    payable_commission: int = 0


async def conversion_totals(
    db: Database, scope: Scope, filters: EventFilter
) -> list[CurrencyTotals]:
    """Per-currency totals; payable = approved. Grouped by currency and status in MongoDB."""
    query = filters.query(scope, conversions=True)
    pipeline: list[dict[str, Any]] = [
        match_stage(query),
        {
            "$group": {
                "_id": {"$concat": ["$currency", "|", "$status"]},
                "n": {"$sum": 1},
                "value": {"$sum": "$value"},
                "commission": {"$sum": "$commission"},
            }
        },
    ]
    totals: dict[str, CurrencyTotals] = {}
    async for row in await db.affiliate_conversions.aggregate(pipeline):
        currency, _, status = str(row["_id"]).partition("|")
        t = totals.setdefault(currency, CurrencyTotals(currency))
        t.conversions += int(row["n"])
        t.value += int(row["value"])
        t.commission += int(row["commission"])
        if status == "approved":
            t.payable_conversions += int(row["n"])
            t.payable_commission += int(row["commission"])
    return [totals[c] for c in sorted(totals)]
