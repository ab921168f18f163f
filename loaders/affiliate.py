"""Affiliate network data access: partner profile and websites, brands and campaigns,
participations, tracking links, clicks and conversions, and the analytics pipelines.

Brands and campaigns are network-wide (no `partner_id`); everything a partner does
(participations, links, websites, clicks, conversions) is tenant-owned and every query
on it starts from `scope.tenant()`.

Clicks and conversions carry three time fields: `occurred_at` (UTC datetime, for
display), `ts` (epoch milliseconds, for range filters inside aggregations, where the
embedded store ignores datetime comparisons) and `slot` (`ts` floored to 15 minutes).
Every real-world UTC offset is a multiple of 15 minutes, so a slot never straddles a
local hour, day, week or month boundary: analytics group by slot in MongoDB and fold
slots into local buckets in Python, which keeps timezone day boundaries exact without
`$dateToString`/`$dateTrunc`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pymongo import ReturnDocument

from gateway.core.errors import BadUserInput, NotFound
from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import (
    IndexSpec,
    Page,
    Scope,
    ScopedLoader,
    epoch_ms,
    grouped_by,
    in_key_order,
    match_stage,
    paginate,
    utcnow,
)

INDEXES = [
    IndexSpec("affiliate_websites", [("partner_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_campaigns", [("brand_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_participations", [("partner_id", 1), ("campaign_id", 1)], unique=True),
    IndexSpec("affiliate_participations", [("partner_id", 1), ("status", 1), ("_id", 1)]),
    IndexSpec("affiliate_links", [("partner_id", 1), ("campaign_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_clicks", [("partner_id", 1), ("ts", -1), ("_id", -1)]),
    IndexSpec("affiliate_clicks", [("partner_id", 1), ("campaign_id", 1), ("ts", -1)]),
    IndexSpec("affiliate_conversions", [("partner_id", 1), ("ts", -1), ("_id", -1)]),
    IndexSpec("affiliate_conversions", [("partner_id", 1), ("campaign_id", 1), ("ts", -1)]),
]

SLOT_MS = 15 * 60 * 1000


def owned(scope: Scope, partner_id: str) -> dict[str, Any]:
    """The filter for one partner's rows, refusing a partner outside the caller's tenant."""
    tenant = scope.tenant()
    if tenant and tenant["partner_id"] != partner_id:
        raise NotFound("Partner not found.")
    return {"partner_id": partner_id}


def allowed_partners(scope: Scope, keys: Iterable[str]) -> list[str]:
    """The subset of partner ids the caller may read (loaders batch over these only)."""
    if scope.is_operator:
        return sorted(set(keys))
    own = scope.principal.partner_id
    return [own] if own is not None and own in set(keys) else []


# --- reference data ------------------------------------------------------------------

# ISO 4217 active codes (2024 list).
_CURRENCIES_TEXT = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    ZWL
"""
CURRENCIES = frozenset(_CURRENCIES_TEXT.split())
# Minor-unit exponents that differ from 2 (ISO 4217); money is stored in minor units.
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
}

# ISO 3166-1 alpha-2 codes as listed by the affiliate network's API (plus XK).
_COUNTRIES_TEXT = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_COUNTRIES_TEXT.split())

_LOCALES_TEXT = """
    bg cs da de de_at en en_au en_ca en_us es es_mx el et fi fl fr fr_ca hu id it jp ko
    ko_kr lt lv ms_my mt my nl no pl po pt pt_br ro ru sg sk sl sv sv_se th tl tr vi zh_cn
    zh_hk
"""
LOCALES = frozenset(_LOCALES_TEXT.split())

DEVICES = ("desktop", "mobile", "tablet", "other")
CONVERSION_STATUSES = ("approved", "pending", "rejected")
PARTICIPATION_STATUSES = ("pending", "approved", "rejected")
_LINK_PARAM_KEYS_TEXT = """
    pubref adref clickref creativeref utm_source utm_medium utm_campaign utm_content
    utm_term
"""
LINK_PARAM_KEYS = frozenset(_LINK_PARAM_KEYS_TEXT.split())
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_currency(code: str, field: str = "currency") -> str:
    code = code.strip().upper()
    if code not in CURRENCIES:
        raise BadUserInput(f"unknown currency {code!r} (ISO 4217)", field=field)
    return code


def currency_exponent(code: str) -> int:
    return _EXPONENTS.get(code, 2)


def validate_country(code: str, field: str = "country") -> str:
    code = code.strip().upper()
    if code not in COUNTRIES:
        raise BadUserInput(f"unknown country {code!r} (ISO 3166-1 alpha-2)", field=field)
    return code


def validate_locale(locale: str, field: str = "contactLocale") -> str:
    if locale not in LOCALES:
        raise BadUserInput(f"unknown locale {locale!r}", field=field)
    return locale


def validate_timezone(name: str, field: str = "timezone") -> ZoneInfo:
    # ZoneInfo also opens paths; only plain IANA names are accepted.
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        raise BadUserInput(f"unknown timezone {name!r}", field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadUserInput(f"unknown timezone {name!r}", field=field) from None


def validate_url(url: str, field: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if (
        len(url) > 2048
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or _CONTROL.search(url)
        or " " in url
    ):
        raise BadUserInput("must be an http(s) URL with a host", field=field)
    return url


def validate_text(value: str, field: str, max_length: int, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise BadUserInput("must not be empty", field=field)
    if len(value) > max_length or _CONTROL.search(value):
        raise BadUserInput(f"must be at most {max_length} printable characters", field=field)
    return value


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


# --- brands and campaigns (network-wide) ---------------------------------------------


async def insert_brand(
    db: Database, name: str, vertical: str, brand_id: str | None = None
) -> Document:
    doc: Document = {"_id": brand_id or new_id("brd"), "name": name, "vertical": vertical,
                     "created_at": utcnow()}  # fmt: skip
    await db.affiliate_brands.insert_one(doc)
    return doc


async def insert_campaign(db: Database, fields: Mapping[str, Any]) -> Document:
    doc: Document = {"_id": new_id("cmp"), **fields, "created_at": utcnow()}
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
        {"$set": {"status": status, "decided_at": utcnow()}},
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


# --- tracking links ------------------------------------------------------------------


def validate_link_params(params: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for key, value in params:
        if key not in LINK_PARAM_KEYS:
            allowed = ", ".join(sorted(LINK_PARAM_KEYS))
            raise BadUserInput(f"unknown parameter {key!r} (allowed: {allowed})", field="params")
        if key in seen:
            raise BadUserInput(f"parameter {key!r} given twice", field="params")
        seen.add(key)
        out.append({"key": key, "value": validate_text(value, "params", 255, required=True)})
    if len(out) > 20:
        raise BadUserInput("at most 20 parameters", field="params")
    return out


async def insert_link(db: Database, fields: Mapping[str, Any]) -> Document:
    now = utcnow()
    doc: Document = {"_id": new_id("lnk"), **fields, "created_at": now, "updated_ms": epoch_ms(now)}
    await db.affiliate_links.insert_one(doc)
    return doc


async def update_link(
    db: Database, scope: Scope, link_id: str, changes: Mapping[str, Any]
) -> Document | None:
    return await db.affiliate_links.find_one_and_update(
        {**scope.tenant(), "_id": link_id},
        {"$set": {**changes, "updated_ms": epoch_ms(utcnow())}},
        return_document=ReturnDocument.AFTER,
    )


class LinkByIdLoader(ScopedLoader[str, Document | None]):
    """Tracking links by id, within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.affiliate_links.find(query).to_list(None)
        return in_key_order(keys, rows)


async def list_links(
    db: Database,
    scope: Scope,
    partner_id: str,
    campaign_id: str | None,
    first: int | None,
    after: str | None,
) -> Page:
    query: dict[str, Any] = owned(scope, partner_id)
    if campaign_id is not None:
        query["campaign_id"] = campaign_id
    return await paginate(db.affiliate_links, query, sort=[("_id", 1)], first=first, after=after)


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
    referer: str = "",
    ip: str = "",
) -> Document:
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
        "referer": referer,
        "ip": ip,
        "type": "standard",
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
) -> Document:
    stored_items = [
        {
            "item_id": f"{conversion_id or 'itm'}-{i}" if conversion_id else new_id("itm"),
            "sku": str(item.get("sku", "")),
            "category": str(item.get("category", "")),
            "quantity": int(item.get("quantity", 1)),
            "value": int(item["value"]),
            "commission": int(item["commission"]),
            "status": str(item.get("status") or status),
        }
        for i, item in enumerate(items)
    ]
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
        "country": country,
        "device": device,
        "conversion_reference": conversion_reference,
        "advertiser_reference": advertiser_reference,
        "publisher_reference": publisher_reference,
        "customer_reference": customer_reference,
        "customer_type": customer_type,
    }


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

    def query(self, scope: Scope, conversions: bool) -> dict[str, Any]:
        query: dict[str, Any] = owned(scope, self.partner_id)
        ts: dict[str, int] = {}
        if self.start_ms is not None:
            ts["$gte"] = self.start_ms
        if self.end_ms is not None:
            ts["$lt"] = self.end_ms
        if ts:
            query["ts"] = ts
        if self.campaign_ids:
            query["campaign_id"] = {"$in": list(self.campaign_ids)}
        if conversions and self.statuses:
            query["status"] = {"$in": list(self.statuses)}
        if conversions and self.currencies:
            query["currency"] = {"$in": list(self.currencies)}
        return query


EVENT_SORT = [("ts", -1), ("_id", -1)]


async def list_clicks(
    db: Database, scope: Scope, filters: EventFilter, first: int | None, after: str | None
) -> Page:
    """Newest first; keyset on (ts, _id), so rows inserted meanwhile never shift a page."""
    query = filters.query(scope, conversions=False)
    return await paginate(db.affiliate_clicks, query, sort=EVENT_SORT, first=first, after=after)


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


# --- date ranges, textDate and intervals ---------------------------------------------


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


_LAST_N_DAYS = re.compile(r"^last (\d{1,3}) days?$")
TEXT_DATES = (
    "this hour, last hour, today, yesterday, this week, last week, last N days, "
    "this month, last month, this year, last year"
)


def _month_start(day: date, delta_months: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + delta_months
    return date(index // 12, index % 12 + 1, 1)


def text_date_range(
    text: str, tz: ZoneInfo, now: datetime, week_start: int = 0
) -> tuple[datetime, datetime]:
    """A natural-language range in `tz` as UTC [start, end).

    `last N days` is the N whole local days before today (today excluded);
    `this …` ranges run from the start of the current period up to now.
    """
    phrase = " ".join(text.strip().lower().split())
    local_now = now.astimezone(tz)
    today = local_now.date()
    if phrase in {"this hour", "last hour"}:
        start_local = local_now.replace(minute=0, second=0, microsecond=0)
        start = start_local.astimezone(UTC)
        if phrase == "this hour":
            return start, now
        return start - timedelta(hours=1), start
    if phrase == "today":
        return local_midnight(today, tz), now
    if phrase == "yesterday":
        return local_midnight(today - timedelta(days=1), tz), local_midnight(today, tz)
    if phrase in {"this week", "last week"}:
        begin = today - timedelta(days=(today.weekday() - week_start) % 7)
        if phrase == "this week":
            return local_midnight(begin, tz), now
        return local_midnight(begin - timedelta(days=7), tz), local_midnight(begin, tz)
    if phrase in {"this month", "last month"}:
        begin = _month_start(today)
        if phrase == "this month":
            return local_midnight(begin, tz), now
        return local_midnight(_month_start(today, -1), tz), local_midnight(begin, tz)
    if phrase in {"this year", "last year"}:
        begin = date(today.year, 1, 1)
        if phrase == "this year":
            return local_midnight(begin, tz), now
        return local_midnight(date(today.year - 1, 1, 1), tz), local_midnight(begin, tz)
    match = _LAST_N_DAYS.match(phrase)
    if match and 1 <= int(match.group(1)) <= 366:
        days = int(match.group(1))
        return local_midnight(today - timedelta(days=days), tz), local_midnight(today, tz)
    raise BadUserInput(f"unknown textDate {text!r} (one of: {TEXT_DATES})", field="textDate")


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class Interval:
    """An ISO-8601 period (PT1H, P1D, P1W, P1M) bucketed in one timezone."""

    period: str
    tz: ZoneInfo
    week_start: int = 0

    def floor(self, moment: datetime) -> datetime:
        """Start (UTC) of the local bucket containing `moment`."""
        local = moment.astimezone(self.tz)
        if self.period == "PT1H":
            return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        day = local.date()
        if self.period == "P1W":
            day -= timedelta(days=(day.weekday() - self.week_start) % 7)
        elif self.period == "P1M":
            day = day.replace(day=1)
        return local_midnight(day, self.tz)

    def next(self, start: datetime) -> datetime:
        """Start of the bucket after the one beginning at `start`."""
        if self.period == "PT1H":
            return self.floor(start + timedelta(hours=1))
        day = start.astimezone(self.tz).date()
        if self.period == "P1D":
            return local_midnight(day + timedelta(days=1), self.tz)
        if self.period == "P1W":
            return local_midnight(day + timedelta(days=7), self.tz)
        return local_midnight(_month_start(day, 1), self.tz)


INTERVALS = ("PT1H", "P1D", "P1W", "P1M")
_INTERVAL_ALIASES = {"PT60M": "PT1H", "P7D": "P1W", "PT24H": "P1D"}


def parse_interval(value: str, tz: ZoneInfo, week_start: int = 0) -> Interval:
    period = value.strip().upper()
    period = _INTERVAL_ALIASES.get(period, period)
    if period not in INTERVALS:
        raise BadUserInput(
            f"unknown interval {value!r} (one of {', '.join(INTERVALS)})", field="interval"
        )
    return Interval(period, tz, week_start)


# --- analytics -----------------------------------------------------------------------

CLICK_METRICS = (
    "total_clicks",
    "total_unique_clicks",
    "total_clicks_converted",
    "click_conversion_rate",
)
CONVERSION_METRICS = (
    "total_conversions",
    "total_conversion_items",
    "total_order_value",
    "average_order_value",
    "total_partner_commission",
    "conversion_rejection_rate",
)
MONEY_METRICS = frozenset({"total_order_value", "average_order_value", "total_partner_commission"})
METRICS = CLICK_METRICS + CONVERSION_METRICS


@dataclass(frozen=True)
class Dimension:
    """A groupable / filterable attribute: its stored field and which sources have it."""

    name: str
    field: str
    clicks: bool = True
    conversions: bool = True


DIMENSIONS = {
    d.name: d
    for d in (
        Dimension("campaign", "campaign_id"),
        Dimension("brand", "brand_id"),
        Dimension("country", "country"),
        Dimension("device", "device"),
        Dimension("publisher_reference", "publisher_reference"),
        Dimension("currency", "currency", clicks=False),
        Dimension("conversion_status", "status", clicks=False),
        Dimension("customer_type", "customer_type", clicks=False),
        Dimension("date_time", "slot"),
    )
}
FILTER_FIELDS = {
    **{name: d for name, d in DIMENSIONS.items() if name != "date_time"},
    "campaign_id": DIMENSIONS["campaign"],
    "brand_id": DIMENSIONS["brand"],
    "device_id": DIMENSIONS["device"],
}
FILTER_OPERATORS = ("EQUALS", "NOT_EQUALS", "IN", "NOT_IN", "CONTAINS", "NOT_CONTAINS")
_SEP = "\x1f"  # unit separator: validated text never contains control characters


@dataclass(frozen=True)
class AnalyticsFilter:
    """One validated `filterBy` condition."""

    dimension: Dimension
    operator: str
    values: tuple[str, ...]
    negate: bool = False

    def to_query(self) -> dict[str, Any]:
        negative = self.operator.startswith("NOT_") != self.negate
        if self.operator.endswith("CONTAINS"):
            pattern = {"$regex": "|".join(re.escape(v) for v in self.values), "$options": "i"}
            # `$nor`, not `$not`: the embedded store has no `$not` (and they agree on MongoDB).
            cond = {self.dimension.field: pattern}
            return {"$nor": [cond]} if negative else cond
        op = "$nin" if negative else "$in"
        return {self.dimension.field: {op: list(self.values)}}


@dataclass
class AnalyticsSpec:
    """A validated analytics request."""

    partner_id: str
    metrics: list[str]
    dimensions: list[Dimension]
    filters: list[AnalyticsFilter]
    ranges_ms: list[tuple[int, int]]
    interval: Interval | None
    currency: str | None = None


@dataclass
class _Acc:
    clicks: int = 0
    converted: int = 0
    cookies: set[str] = field(default_factory=set)
    conversions: int = 0
    items: int = 0
    value: int = 0
    commission: int = 0
    rejected: int = 0


@dataclass
class AnalyticsRow:
    """One result row: dimension values by name, metric values, bucket start (if any)."""

    dimensions: dict[str, str]
    metrics: dict[str, float]
    bucket: datetime | None = None


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _pipeline(
    spec: AnalyticsSpec, dims: Sequence[Dimension], conversions: bool, unique: bool
) -> list[dict[str, Any]]:
    in_ranges = {"$or": [{"ts": {"$gte": s, "$lt": e}} for s, e in spec.ranges_ms]}
    conditions = [f.to_query() for f in spec.filters]
    if conversions and spec.currency is not None:
        conditions.append({"currency": spec.currency})
    # One string key: the embedded store does not evaluate field paths inside a
    # document-valued `$group._id` (see README), `$concat` works on both.
    parts: list[Any] = []
    for i, dim in enumerate(dims):
        if i:
            parts.append(_SEP)
        parts.append({"$toString": f"${dim.field}"} if dim.field == "slot" else f"${dim.field}")
    group: dict[str, Any] = {"_id": {"$concat": parts} if parts else None}
    if conversions:
        group.update(
            n={"$sum": 1}, items={"$sum": "$item_count"}, value={"$sum": "$value"},
            commission={"$sum": "$commission"}, rejected={"$sum": "$rejected"},
        )  # fmt: skip
    else:
        group.update(n={"$sum": 1}, converted={"$sum": "$converted"})
        if unique:
            group["cookies"] = {"$addToSet": "$cookie_id"}
    return [match_stage({"partner_id": spec.partner_id}, in_ranges, *conditions), {"$group": group}]


def _metric(name: str, acc: _Acc, exponent: int) -> float:
    scale = float(10**exponent)
    values: dict[str, float] = {
        "total_clicks": acc.clicks,
        "total_unique_clicks": len(acc.cookies),
        "total_clicks_converted": acc.converted,
        "click_conversion_rate": acc.converted / acc.clicks if acc.clicks else 0.0,
        "total_conversions": acc.conversions,
        "total_conversion_items": acc.items,
        "total_order_value": acc.value / scale,
        "average_order_value": acc.value / scale / acc.conversions if acc.conversions else 0.0,
        "total_partner_commission": acc.commission / scale,
        "conversion_rejection_rate": acc.rejected / acc.conversions if acc.conversions else 0.0,
    }
    return float(values[name])


async def run_analytics(db: Database, scope: Scope, spec: AnalyticsSpec) -> list[AnalyticsRow]:
    """Aggregate clicks and/or conversions by the spec's dimensions (and interval buckets).

    MongoDB groups by the stored dimension fields and 15-minute slots; Python folds the
    slots into local buckets and combines the two sources on equal dimension values.
    """
    owned(scope, spec.partner_id)
    want_clicks = any(m in CLICK_METRICS for m in spec.metrics)
    want_conversions = any(m in CONVERSION_METRICS for m in spec.metrics)
    unique = "total_unique_clicks" in spec.metrics
    names = [d.name for d in spec.dimensions]
    stored = list(spec.dimensions)
    if spec.interval is not None and "date_time" not in names:
        stored.append(DIMENSIONS["date_time"])
    accs: dict[tuple[tuple[str, ...], datetime | None], _Acc] = {}

    async def fold(conversions: bool) -> None:
        collection = db.affiliate_conversions if conversions else db.affiliate_clicks
        pipeline = _pipeline(spec, stored, conversions, unique)
        async for row in await collection.aggregate(pipeline):
            values = str(row["_id"]).split(_SEP) if stored else []
            by_name = dict(zip([d.name for d in stored], values, strict=True))
            bucket = None
            if spec.interval is not None:
                bucket = spec.interval.floor(from_ms(int(by_name["date_time"])))
                by_name["date_time"] = bucket.astimezone(spec.interval.tz).isoformat()
            key = (tuple(by_name[n] for n in names), bucket)
            acc = accs.setdefault(key, _Acc())
            if conversions:
                acc.conversions += int(row["n"])
                acc.items += int(row["items"])
                acc.value += int(row["value"])
                acc.commission += int(row["commission"])
                acc.rejected += int(row["rejected"])
            else:
                acc.clicks += int(row["n"])
                acc.converted += int(row["converted"])
                if unique:
                    acc.cookies.update(str(c) for c in row["cookies"])

    if want_clicks:
        await fold(conversions=False)
    if want_conversions:
        await fold(conversions=True)
    rows: list[AnalyticsRow] = []
    for (values, bucket), acc in accs.items():
        dims = dict(zip(names, values, strict=True))
        currency = dims.get("currency") or spec.currency or "USD"
        exponent = currency_exponent(currency)
        metrics = {m: _metric(m, acc, exponent) for m in spec.metrics}
        rows.append(AnalyticsRow(dimensions=dims, metrics=metrics, bucket=bucket))
    return rows


def interval_buckets(interval: Interval, ranges_ms: Sequence[tuple[int, int]]) -> list[datetime]:
    """Every bucket start overlapping any range, chronologically (for zero filling)."""
    starts: set[datetime] = set()
    for start_ms, end_ms in ranges_ms:
        end = from_ms(end_ms)
        bucket = interval.floor(from_ms(start_ms))
        while bucket < end and len(starts) <= 50_000:
            starts.add(bucket)
            bucket = interval.next(bucket)
    return sorted(starts)


def empty_row(spec: AnalyticsSpec, bucket: datetime | None) -> AnalyticsRow:
    exponent = currency_exponent(spec.currency or "USD")
    return AnalyticsRow(
        dimensions={},
        metrics={m: _metric(m, _Acc(), exponent) for m in spec.metrics},
        bucket=bucket,
    )


def day_string(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
