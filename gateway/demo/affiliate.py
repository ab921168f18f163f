"""Demo affiliate data: network-wide brands and campaigns, and per partner a profile,
websites, participations in every state, tracking links, and 90 days of clicks and
conversions (deterministic ids; skipped when already present)."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from typing import Any

from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.storage.mongo import Database
from loaders import affiliate as data
from loaders.affiliate import commissions as com
from loaders.affiliate import money, promotion
from loaders.affiliate.impressions import impression_doc, insert_impressions
from loaders.affiliate.promotion import creative_attribution
from loaders.affiliate.rates import rate_doc
from loaders.base import epoch_ms, utcnow

BRANDS = (
    ("brd_demo-northwind", "Northwind Outfitters", "fashion"),
    ("brd_demo-skyline", "Skyline Travel", "travel"),
    ("brd_demo-voltage", "Voltage Electronics", "technology"),
)
# (id, brand, title, currency, custom terms, auto approve, status)
CAMPAIGNS = (
    ("cmp_demo-nw-spring", "brd_demo-northwind", "Spring Collection", "GBP", False, True, "active"),
    ("cmp_demo-nw-outlet", "brd_demo-northwind", "Outlet", "GBP", True, False, "active"),
    ("cmp_demo-sky-city", "brd_demo-skyline", "City Breaks", "EUR", False, True, "active"),
    ("cmp_demo-sky-long", "brd_demo-skyline", "Long Haul", "EUR", True, False, "active"),
    ("cmp_demo-volt-audio", "brd_demo-voltage", "Audio Week", "USD", False, False, "active"),
    ("cmp_demo-volt-old", "brd_demo-voltage", "Last Season", "USD", False, False, "paused"),
)
# Participation state per partner index and campaign: approved campaigns get traffic.
STATES = (
    {"cmp_demo-nw-spring": "approved", "cmp_demo-sky-city": "approved",
     "cmp_demo-volt-audio": "pending", "cmp_demo-nw-outlet": "rejected"},
    {"cmp_demo-sky-city": "approved", "cmp_demo-volt-audio": "approved",
     "cmp_demo-sky-long": "pending", "cmp_demo-nw-spring": "rejected"},
)  # fmt: skip
# Documentation addresses (RFC 5737 TEST-NET-3) and plain browser strings.
REFERERS = ("https://www.{}.demo/", "https://www.{}.demo/blog/", "")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)
CAMREF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
CLICKS_PER_PARTNER = 2400
CONVERSIONS_PER_PARTNER = 360
COUNTRIES = ("GB", "GB", "US", "DE", "FR", "NL", "IE", "ES")
DEVICES = ("desktop", "desktop", "mobile", "mobile", "mobile", "tablet")


async def _catalogue(db: Database) -> dict[str, dict[str, Any]]:
    now = utcnow()
    for brand_id, name, vertical in BRANDS:
        await db.affiliate_brands.update_one(
            {"_id": brand_id},
            {"$setOnInsert": {"name": name, "vertical": vertical, "created_at": now}},
            upsert=True,
        )
    campaigns: dict[str, dict[str, Any]] = {}
    for cid, brand_id, title, currency, terms, auto, status in CAMPAIGNS:
        doc = {
            "brand_id": brand_id, "title": title, "currency": currency, "vertical": "retail",
            "status": status, "default_destination_url": f"https://{brand_id[9:]}.example/",
            "custom_terms": terms, "terms": "No brand bidding on search." if terms else "",
            "auto_approve": auto, "description": f"{title} by {brand_id[9:].title()}",
            "camref": _camref(cid), **COMMISSION_TERMS.get(cid, {}),
        }  # fmt: skip
        await db.affiliate_campaigns.update_one(
            {"_id": cid}, {"$setOnInsert": {**doc, "created_at": now}}, upsert=True
        )
        campaigns[cid] = {"_id": cid, **doc}
    await _commissions(db)
    await _terms(db)
    await _promotion(db, campaigns)
    return campaigns


async def _promotion(db: Database, campaigns: dict[str, dict[str, Any]]) -> None:
    """A banner and a text link per campaign, a feed per brand's first campaign, codes."""
    now = utcnow()
    stamp = {"active": True, "created_at": now, "created_ms": epoch_ms(now)}
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for cid, campaign in campaigns.items():
        site = campaign["default_destination_url"]
        rows.append(
            (
                "affiliate_creatives",
                f"crv_demo-{cid[9:]}-banner",
                {
                    "campaign_id": cid,
                    "type": "banner",
                    "name": f"{campaign['title']} 728x90",
                    "width": 728,
                    "height": 90,
                    "image_url": f"{site}banners/728x90.png",
                    "text": "",
                },
            )
        )
        rows.append(
            (
                "affiliate_creatives",
                f"crv_demo-{cid[9:]}-text",
                {
                    "campaign_id": cid,
                    "type": "text",
                    "name": "Text link",
                    "width": 0,
                    "height": 0,
                    "image_url": "",
                    "text": f"Shop {campaign['title']}",
                },
            )
        )
    for cid in ("cmp_demo-nw-spring", "cmp_demo-sky-city", "cmp_demo-volt-audio"):
        rows.append(
            (
                "affiliate_feeds",
                f"fed_demo-{cid[9:]}",
                {
                    "campaign_id": cid,
                    "name": "All products",
                    "format": "csv",
                    "url": f"{campaigns[cid]['default_destination_url']}feeds/products.csv",
                    "product_count": 1200,
                },
            )
        )
    rows.append(
        (
            "affiliate_voucher_codes",
            "vou_demo-spring10",
            {
                "campaign_id": "cmp_demo-nw-spring",
                "code": "SPRING10",
                "description": "10 % off the spring collection",
                "start_ms": 0,
                "end_ms": com.OPEN_END_MS,
                "partner_ids": [],
            },
        )
    )
    for collection, doc_id, fields in rows:
        if collection == "affiliate_creatives":
            if await db[collection].count_documents({"_id": doc_id}):
                continue
            fields = {**fields, "number": await promotion.next_creative_number(db)}
        await db[collection].update_one(
            {"_id": doc_id}, {"$setOnInsert": {**fields, **stamp}}, upsert=True
        )


# Published terms versions of the custom-terms campaigns: (id, campaign, locale, version).
TERMS = (
    ("trm_demo-nw-outlet-en-1", "cmp_demo-nw-outlet", "en", 1),
    ("trm_demo-sky-long-en-1", "cmp_demo-sky-long", "en", 1),
    ("trm_demo-sky-long-en-2", "cmp_demo-sky-long", "en", 2),
    ("trm_demo-sky-long-de-1", "cmp_demo-sky-long", "de", 1),
)
# An open invitation per demo partner index, to a campaign it has no participation on.
INVITATIONS = ("cmp_demo-sky-long", "cmp_demo-nw-outlet")


async def _terms(db: Database) -> None:
    now = utcnow()
    for i, (tid, cid, locale, version) in enumerate(TERMS):
        await db.affiliate_terms.update_one(
            {"_id": tid},
            {"$setOnInsert": {
                "campaign_id": cid, "locale": locale, "version": version,
                "title": f"Terms v{version} ({locale})",
                "content": "<p>No brand bidding on search. No cashback sites.</p>"
                + ("<p>Coupon sites need approval.</p>" if version > 1 else ""),
                "created_at": now, "created_ms": epoch_ms(now) - (len(TERMS) - i) * 86_400_000,
            }},
            upsert=True,
        )  # fmt: skip


# Commission terms per demo campaign: default rate (ppm of the sale, or minor units),
# cookie period, tracking settings.
COMMISSION_TERMS: dict[str, dict[str, Any]] = {
    "cmp_demo-nw-spring": {
        "default_commission": {"model": "percentage", "rate_ppm": 80_000, "amount": 0,
                               "description": "8 % of the basket"},
        "cookie_period_days": 30,
        "tracking": {"method": "s2s", "allow_deep_linking": True, "secure_tracking": True,
                     "multiple_conversions_per_click": False, "conversion_type": "sale"},
    },
    "cmp_demo-sky-city": {
        "default_commission": {"model": "fixed_cpa", "rate_ppm": 0, "amount": 1500,
                               "description": "EUR 15 per booking"},
        "cookie_period_days": 14,
        "tracking": {"method": "pixel", "allow_deep_linking": False, "secure_tracking": True,
                     "multiple_conversions_per_click": True, "conversion_type": "sale"},
    },
    "cmp_demo-volt-audio": {
        "default_commission": {"model": "percentage", "rate_ppm": 50_000, "amount": 0,
                               "description": "5 %"},
        "cookie_period_days": 7,
    },
}  # fmt: skip
GROUP_ID = "cgr_demo-sky-content"


def _definition(cid: str, kind: str, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "campaign_id": cid, "kind": kind, "description": "", "model": "percentage",
        "rate_ppm": 0, "amount": 0, "start_ms": 0, "end_ms": com.OPEN_END_MS,
        "status": "active", "partner_ids": [], "group_ids": [], "cookie_period_days": 0,
        "meta_fields": [], "based_on_field": "", "voucher_codes": [],
    }  # fmt: skip
    fields.update(extra)
    return fields


async def _commissions(db: Database) -> None:
    """Network-wide demo commissions of every kind and one commission group."""
    now = utcnow()
    now_ms = epoch_ms(now)
    day = 86_400_000
    await db.affiliate_commission_groups.update_one(
        {"_id": GROUP_ID},
        {"$setOnInsert": {"campaign_id": "cmp_demo-sky-city", "name": "Content partners",
                          "description": "Editorial sites", "start_ms": 0,
                          "end_ms": com.OPEN_END_MS, "active": True, "created_at": now,
                          "created_ms": now_ms}},
        upsert=True,
    )  # fmt: skip
    definitions = {
        "com_demo-spring-shoes": _definition(
            "cmp_demo-nw-spring", "standard", description="Shoes pay 10 %", rate_ppm=100_000,
            meta_fields=[{"name": "category", "values": ["shoes"]}]),
        "com_demo-spring-voucher": _definition(
            "cmp_demo-nw-spring", "voucher", description="SPRING10 sales", rate_ppm=60_000,
            voucher_codes=["SPRING10"]),
        "com_demo-city-promo": _definition(
            "cmp_demo-sky-city", "promotional", description="Two weeks of double bookings",
            model="fixed_cpa", amount=3000, start_ms=now_ms - 3 * day,
            end_ms=now_ms + 11 * day, cookie_period_days=30),
        "com_demo-city-group": _definition(
            "cmp_demo-sky-city", "default", description="Content partners' rate",
            model="fixed_cpa", amount=2000, group_ids=[GROUP_ID]),
        "com_demo-audio-tiers": _definition(
            "cmp_demo-volt-audio", "tiered", description="Monthly volume bonus",
            model="fixed_cpa", levels=[{"threshold": 10, "bonus": 5000},
                                       {"threshold": 50, "bonus": 30000}],
            measurement="total_conversions", reward_model="fixed_reward",
            evaluation_period_days=30, reward_pending=False),
    }  # fmt: skip
    for cid, fields in definitions.items():
        await db.affiliate_commissions.update_one(
            {"_id": cid},
            {"$setOnInsert": {**fields, "created_at": now, "created_ms": now_ms}},
            upsert=True,
        )


async def _partner_commissions(db: Database, partner: DemoPartner, slug: str) -> None:
    """Each demo partner is a content partner on City Breaks; the first has its own rate."""
    now = utcnow()
    await db.affiliate_commission_group_members.update_one(
        {"group_id": GROUP_ID, "partner_id": partner.id},
        {"$setOnInsert": {"_id": f"cgm_demo-{slug}", "campaign_id": "cmp_demo-sky-city",
                          "created_at": now, "created_ms": epoch_ms(now)}},
        upsert=True,
    )  # fmt: skip
    if partner.index == 0:
        await db.affiliate_commissions.update_one(
            {"_id": f"com_demo-{slug}-spring-vip"},
            {"$setOnInsert": {**_definition(
                "cmp_demo-nw-spring", "default", description="Negotiated rate",
                rate_ppm=120_000, partner_ids=[partner.id]),
                "created_at": now, "created_ms": epoch_ms(now)}},
            upsert=True,
        )  # fmt: skip


def _camref(campaign_id: str) -> str:
    # Deterministic per demo campaign (real campaigns get a random one at insert).
    digest = hashlib.sha256(campaign_id.encode()).digest()
    return "".join(CAMREF_ALPHABET[b % len(CAMREF_ALPHABET)] for b in digest[:6])


async def seed(db: Database, partner: DemoPartner, demo: DemoSecrets) -> None:
    """Idempotent: every write is an upsert or is skipped when its rows exist."""
    campaigns = await _catalogue(db)
    slug = partner.id.removeprefix("par_demo-")
    now = utcnow()
    current = await db.partners.find_one({"_id": partner.id}, projection={"account_name": 1})
    if current is not None and "account_name" not in current:
        await _profile(db, partner, slug)
    await db.affiliate_websites.update_one(
        {"_id": f"web_demo-{slug}-main"},
        {"$setOnInsert": {
            "partner_id": partner.id, "url": f"https://www.{slug}.demo/", "name": "Main site",
            "description": "", "type": "content", "vertical": "entertainment", "country": "GB",
            "primary": True, "active": True, "created_at": now, "created_ms": epoch_ms(now),
        }},
        upsert=True,
    )  # fmt: skip
    approved: list[dict[str, Any]] = []
    for cid, status in STATES[partner.index % len(STATES)].items():
        await db.affiliate_participations.update_one(
            {"partner_id": partner.id, "campaign_id": cid},
            {"$setOnInsert": {
                "_id": f"ptc_demo-{slug}-{cid[9:]}", "brand_id": campaigns[cid]["brand_id"],
                "status": status, "terms_accepted": True, "requested_at": now - timedelta(days=95),
                "decided_at": None if status == "pending" else now - timedelta(days=94),
            }},
            upsert=True,
        )  # fmt: skip
        if status == "approved":
            approved.append(campaigns[cid])
            await db.affiliate_links.update_one(
                {"_id": f"lnk_demo-{slug}-{cid[9:]}"},
                {"$setOnInsert": {
                    "partner_id": partner.id, "campaign_id": cid, "description": "Homepage",
                    "destination_url": campaigns[cid]["default_destination_url"],
                    "params": [{"key": "pubref", "value": f"{slug}-home"}], "active": True,
                    "created_at": now, "updated_ms": epoch_ms(now),
                }},
                upsert=True,
            )  # fmt: skip
    await _partner_commissions(db, partner, slug)
    await _database(db, partner.id, slug)
    await _tag(db, partner.id, slug)
    await _joining(db, partner, slug, campaigns)
    if await db.affiliate_clicks.count_documents({"partner_id": partner.id}) == 0:
        await _traffic(db, partner.id, slug, approved, partner.index)
    await _money(db, partner, slug, approved)
    if await db.affiliate_impressions.count_documents({"partner_id": partner.id}) == 0:
        await _impressions(db, partner.id, slug, approved)
    await _exchange_rates(db)


async def _money(
    db: Database, partner: DemoPartner, slug: str, campaigns: list[dict[str, Any]]
) -> None:
    """Payment details and, per campaign currency, a paid self-bill (sales older than 60
    days) and a created one (30..60 days); newer approved sales stay available, pending
    ones pending."""
    now = utcnow()
    pd_id = f"pmd_demo-{slug}"
    await db.affiliate_payment_details.update_one(
        {"_id": pd_id},
        {"$setOnInsert": {
            "partner_id": partner.id, "payment_type": "iban", "country": "GB",
            "paid_currency": "GBP", "tracked_currencies": ["EUR", "GBP", "USD"],
            "values": {"account_name": f"{partner.name} Ltd", "iban": "GB82WEST12345698765432",
                       "bic": "NWBKGB2L"},
            "suspended": False, "created_at": now, "created_ms": epoch_ms(now)}},
        upsert=True,
    )  # fmt: skip
    if await db.affiliate_selfbills.count_documents({"partner_id": partner.id}):
        return
    for currency in sorted({c["currency"] for c in campaigns}):
        for days, status in ((60, "paid"), (30, "created")):
            bill = await money.create_selfbill(
                db, partner.id, currency, vat_rate_ppm=200_000, legal_entity="GB",
                payment_detail_id=pd_id, before_ms=epoch_ms(now - timedelta(days=days)),
                bill_id=f"sbl_demo-{slug}-{currency.lower()}-{days}",
            )  # fmt: skip
            if bill is not None and status == "paid":
                await db.affiliate_selfbills.update_one(
                    {"_id": bill["_id"]},
                    {"$set": {"status": "paid",
                              "payment_ms": epoch_ms(now - timedelta(days=days - 5))}},
                )  # fmt: skip


async def _database(db: Database, partner_id: str, slug: str) -> None:
    # The seed's sample partner database: a newsletter list.
    now = utcnow()
    await db.affiliate_databases.update_one(
        {"_id": f"pdb_demo-{slug}"},
        {"$setOnInsert": {
            "partner_id": partner_id, "name": f"{slug.title()} newsletter",
            "creation_method": "Email", "size": 53_000, "female_percent": 50.0,
            "male_percent": 50.0, "min_age": 25, "max_age": 77, "active": True,
            "created_at": now, "created_ms": epoch_ms(now), "updated_ms": epoch_ms(now),
        }},
        upsert=True,
    )  # fmt: skip


async def _tag(db: Database, partner_id: str, slug: str) -> None:
    # A Partnerize Tag on the partner's website, serving the seed's one feature.
    now = utcnow()
    await db.affiliate_tags.update_one(
        {"_id": f"ptg_demo-{slug}"},
        {"$setOnInsert": {
            "partner_id": partner_id, "name": f"{slug}-website", "active": True,
            "features": [{"name": "tracking-link-generation", "config": []}],
            "created_at": now, "created_by": "operator", "updated_ms": epoch_ms(now),
            "updated_by": "operator",
        }},
        upsert=True,
    )  # fmt: skip


async def _profile(db: Database, partner: DemoPartner, slug: str) -> None:
    await db.partners.update_one(
        {"_id": partner.id},
        {"$set": {
            "account_name": f"{slug}-publisher", "company_name": f"{partner.name} Ltd",
            "contact_name": f"{partner.name} Partnerships",
            "contact_email": f"affiliates@{slug}.demo", "contact_locale": "en",
            "default_currency": "GBP", "reporting_timezone": "Europe/London",
            "operating_country": "GB", "vertical": "entertainment",
            "promotional_method": "content",
            "week_start": "monday", "network_status": "active",
            "phone": "2079460958", "phone_area": "+44", "im_provider": "telegram",
            "im_username": f"{slug}_partnerships", "legal_entity": "company",
            "company_division": "Partnerships",
            "description": f"<p>{partner.name} writes about <b>events</b> and deals.</p>",
            "logo_url": f"https://www.{slug}.demo/logo.png", "vat_number": "GB123456789",
            "uk_vat_registered": True, "gst_registered": False, "abn": None,
            "us_tax_state": None,
        }},
    )  # fmt: skip


async def _traffic(
    db: Database, partner_id: str, slug: str, campaigns: list[dict[str, Any]], index: int
) -> None:
    rng = random.Random(f"affiliate-demo-{slug}")  # noqa: S311 - demo data, not secrets
    # A second generator for the report facts added later, so the first one's sequence
    # (and every figure derived from it) stays as it was.
    extra = random.Random(f"affiliate-demo-report-{slug}")  # noqa: S311 - demo data
    creatives = await _creatives_by_campaign(db, campaigns)
    vouchers = await _by_campaign(db, "affiliate_voucher_codes", campaigns)
    now = utcnow()
    clicks: list[dict[str, Any]] = []
    for i in range(CLICKS_PER_PARTNER):
        moment = now - timedelta(seconds=rng.randint(60, 90 * 86_400))
        campaign = campaigns[i % len(campaigns)]
        clicks.append(data.click_doc(
            partner_id, campaign, moment, click_id=f"clk_demo-{slug}-{i:05d}",
            cookie_id=f"ck-{slug}-{rng.randint(0, 1500)}", country=rng.choice(COUNTRIES),
            device=rng.choice(DEVICES), link_id=f"lnk_demo-{slug}-{campaign['_id'][9:]}",
            publisher_reference=rng.choice(("", "newsletter", "homepage", "blog")),
            ip=f"203.0.113.{rng.randint(1, 254)}", referer=rng.choice(REFERERS).format(slug),
            user_agent=rng.choice(USER_AGENTS),
            # half the clicks came through one of the campaign's creatives
            **creative_attribution(extra.choice([None, *creatives.get(campaign["_id"], [])])),
        ))  # fmt: skip
    conversions: list[dict[str, Any]] = []
    for i, click in enumerate(rng.sample(clicks, CONVERSIONS_PER_PARTNER)):
        click["converted"] = 1
        campaign = next(c for c in campaigns if c["_id"] == click["campaign_id"])
        status = rng.choices(("approved", "pending", "rejected"), (6, 3, 1))[0]
        items: list[dict[str, Any]] = [
            {"sku": f"SKU-{rng.randint(100, 999)}",
             "category": rng.choice(("shoes", "bags", "audio")),
             "quantity": rng.randint(1, 3), "value": (v := rng.randint(1500, 25_000)),
             "commission": v * (8 + index) // 100}
            for _ in range(rng.randint(1, 3))
        ]  # fmt: skip
        moment = click["occurred_at"] + timedelta(minutes=rng.randint(1, 600))
        codes = vouchers.get(campaign["_id"], [])
        _report_facts(extra, items, status, [str(c["code"]) for c in codes])
        used = [c for item in items for c in item.get("voucher_codes", [])]
        # a decided sale was last modified when the brand validated it, days later
        decided = min(moment + timedelta(days=extra.randint(1, 14)), now)
        conversions.append(data.conversion_doc(
            partner_id, campaign, min(moment, now), currency=campaign["currency"], status=status,
            items=items, conversion_id=f"cnv_demo-{slug}-{i:05d}", click=click,
            country=click["country"], device=click["device"],
            conversion_reference=f"ORDER-{slug.upper()}-{i:05d}",
            publisher_reference=click["publisher_reference"],
            customer_type=rng.choice(("new", "existing")),
            was_disputed=rng.random() < 0.03, **_original_currency(rng, campaign["currency"]),
            meta_data={"gclid": f"demo-{slug}-{i}"} if extra.random() < 0.3 else None,
            modified_at=decided if status != "pending" else min(moment, now),
            voucher_status=promotion.voucher_status(used[0], codes, partner_id,
                                                    epoch_ms(min(moment, now)))
            if used else "",
        ))  # fmt: skip
    await db.affiliate_clicks.insert_many(clicks, ordered=False)
    await db.affiliate_conversions.insert_many(conversions, ordered=False)


async def _creatives_by_campaign(
    db: Database, campaigns: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    return await _by_campaign(db, "affiliate_creatives", campaigns)


async def _by_campaign(
    db: Database, collection: str, campaigns: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    rows = await db[collection].find(
        {"campaign_id": {"$in": [c["_id"] for c in campaigns]}}, sort=[("_id", 1)]
    ).to_list(None)
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["campaign_id"], []).append(row)
    return out


def _report_facts(
    rng: random.Random, items: list[dict[str, Any]], status: str, codes: list[str]
) -> None:
    """Voucher codes on some shoe lines (the campaign's, or one it never issued), item meta
    data, and why a rejected line was."""
    for item in items:
        if item["category"] == "shoes" and rng.random() < 0.4:
            item["voucher_codes"] = [codes[0] if codes and rng.random() < 0.8 else "WELCOME5"]
        if rng.random() < 0.2:
            item["meta_data"] = {"device": "mobile", "payment_method": "card"}
        if status == "rejected":
            item["reject_reason"] = rng.choice(("returned", "cancelled", "duplicate order"))


def _original_currency(rng: random.Random, currency: str) -> dict[str, Any]:
    # One sale in ten was paid in another currency and converted by the network.
    if rng.random() >= 0.1:
        return {}
    original, rate = ("USD", 0.79) if currency != "USD" else ("GBP", 1.27)
    return {"currency_original": original, "currency_conversion_rate": rate}


async def _joining(
    db: Database, partner: DemoPartner, slug: str, campaigns: dict[str, dict[str, Any]]
) -> None:
    """Acknowledgements of the terms the partner joined under, and one open invitation."""
    now = utcnow()
    joined = STATES[partner.index % len(STATES)]
    for tid, cid, locale, version in TERMS:
        latest = max(v for t, c, loc, v in TERMS if c == cid and loc == locale)
        if cid in joined and locale == "en" and version == latest:
            await db.affiliate_terms_acks.update_one(
                {"partner_id": partner.id, "terms_id": tid},
                {"$setOnInsert": {"_id": f"tak_demo-{slug}-{tid[9:]}", "campaign_id": cid,
                                  "created_by": "demo", "created_at": now,
                                  "created_ms": epoch_ms(now)}},
                upsert=True,
            )  # fmt: skip
    first_joined = next(c for c, st in joined.items() if st == "approved")
    await db.affiliate_transaction_queries.update_one(
        {"_id": f"tq_demo-{slug}-untracked"},
        {"$setOnInsert": {
            "partner_id": partner.id, "type": "untracked", "campaign_id": first_joined,
            "camref": campaigns[first_joined]["camref"],
            "conversion_reference": f"MISSING-{slug.upper()}-1", "conversion_value": 8999,
            "expected_commission": 720, "currency": campaigns[first_joined]["currency"],
            "conversion_ms": epoch_ms(now) - 5 * 86_400_000, "publisher_reference": "newsletter",
            "notes": "Order placed from our newsletter, not tracked.", "state": "pending",
            "created_at": now, "created_ms": epoch_ms(now)}},
        upsert=True,
    )  # fmt: skip
    cid = INVITATIONS[partner.index % len(INVITATIONS)]
    await db.affiliate_invitations.update_one(
        {"partner_id": partner.id, "campaign_id": cid},
        {"$setOnInsert": {"_id": f"inv_demo-{slug}-{cid[9:]}",
                          "brand_id": campaigns[cid]["brand_id"], "status": "open",
                          "created_at": now, "created_ms": epoch_ms(now), "decided_ms": 0}},
        upsert=True,
    )  # fmt: skip
IMPRESSION_HOURS = 90 * 24


async def _impressions(
    db: Database, partner_id: str, slug: str, campaigns: list[dict[str, Any]]
) -> None:
    # One document per approved campaign, creative and hour over 90 days with the number of
    # times that creative was shown (more in the evening), for `total_impressions`.
    rng = random.Random(f"affiliate-impressions-{slug}")  # noqa: S311 - demo data
    start = utcnow().replace(minute=0, second=0, microsecond=0)
    creatives = await _creatives_by_campaign(db, campaigns)
    docs = [
        impression_doc(
            partner_id, campaign, moment,
            count=rng.randint(5, 40) * (2 if moment.hour >= 18 else 1),
            creative_id=int(creative["number"]), device=rng.choice(DEVICES),
            publisher_reference=rng.choice(("", "newsletter", "homepage", "blog")),
            user_agent=rng.choice(USER_AGENTS),
            impression_id=f"imp_demo-{slug}-{campaign['_id'][9:]}-{kind}-{hour}",
        )
        for campaign in campaigns
        for kind, creative in enumerate(creatives.get(campaign["_id"], []), start=1)
        for hour in range(0, IMPRESSION_HOURS, 3)
        if (moment := start - timedelta(hours=hour + 1))
    ]  # fmt: skip
    await insert_impressions(db, docs)


# Daily exchange rates (units per 1 USD) for the demo's currencies over the last 100 days:
# a deterministic drift around these levels, so outputCurrency totals move day to day.
RATE_LEVELS = {"GBP": 0.79, "EUR": 0.92, "JPY": 151.0, "AUD": 1.52}


async def _exchange_rates(db: Database) -> None:
    today = utcnow().date()
    if await db.affiliate_exchange_rates.find_one({"day": today.isoformat()}) is not None:
        return
    rng = random.Random(f"affiliate-rates-{today.isoformat()}")  # noqa: S311 - demo data
    docs = [
        rate_doc(today - timedelta(days=back), currency, level * (1 + rng.uniform(-0.02, 0.02)))
        for back in range(100)
        for currency, level in RATE_LEVELS.items()
    ]
    # Upserts on the (currency, day) key: two gateways seeding at once write the same rows.
    for doc in docs:
        await db.affiliate_exchange_rates.update_one(
            {"currency": doc["currency"], "day": doc["day"]},
            {"$setOnInsert": {"_id": doc["_id"], "per_usd": doc["per_usd"]}},
            upsert=True,
        )
