"""Demo CRM data per partner: 60 fans, 4 ticket events, 120 tickets (most buyers return),
3 CRM campaigns (meta apps, two fans hidden from one leaderboard), 80 activities of them
(with IPs, opt-ins, networks, idols, quiz durations; kept on the fans as their last activity and
their connections), 100 point awards (some venue points, some of a campaign), 40 purchases,
a saved search and a snapshot segment, and a public and a secret CRM API key.

Idempotent: deterministic ids, documents upserted with `$setOnInsert` (so a re-run never
changes or duplicates anything), counters only raised with `$max`, all in bulk writes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne

from gateway.auth import secrets as creds
from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.storage.mongo import Database, Document
from loaders import crm as data
from loaders.base import utcnow
from loaders.crm import segments

FANS = 60
TICKETS = 120
ACTIVITIES = 80
AWARDS = 100
PURCHASES = 40
PRODUCTS = (("tee", "Tour Shirt", "merch", 3000), ("poster", "Poster", "merch", 1500),
            ("vinyl", "Live Vinyl", "music", 4500))  # fmt: skip
FIRST_NAMES = ("Ada", "Bo", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Juno")
LAST_NAMES = ("Berg", "Costa", "Diaz", "Engel", "Fox", "Green")
TAGS = ("vip", "newsletter", "press", "family")
EVENTS = (  # (key, name, venue, artist, days from the seed day, price in cents)
    ("spring-gala", "Spring Gala", "Grand Hall", "The Quartet", -30, 4500),
    ("summer-open-air", "Summer Open Air", "City Park", "Sunburst", 20, 3900),
    ("autumn-nights", "Autumn Nights", "Grand Hall", "Nocturne", 60, 5200),
    ("winter-classics", "Winter Classics", "Opera House", "Philharmonic", 100, 7500),
)
CAMPAIGNS = ("Trivia Night", "Poster Vote", "Backstage Draw")
# (app type, stream key) per campaign; the key is `tab-<title>` as the awards link it
CAMPAIGN_APPS = (("trivia", "stream-trivia"), ("poll", ""), ("sweepstakes", "stream-draw"))
NETWORKS = ("facebook", "spotify", "instagram")
IDOLS = ("Sunburst", "Nocturne", "The Quartet", "Philharmonic")
HIDDEN = (0, 11)  # fans hidden from Trivia Night's public leaderboard


def _upsert(doc: Document) -> UpdateOne:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    return UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": fields}, upsert=True)


async def seed(db: Database, partner: DemoPartner, demo: DemoSecrets) -> None:
    slug = partner.id.removeprefix("par_demo-")
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=60)
    fans = [_fan(partner.id, slug, i, start) for i in range(FANS)]
    tickets = [_ticket(partner.id, slug, i, fans, start, today) for i in range(TICKETS)]
    await db.fans.bulk_write([_upsert(f) for f in fans], ordered=False)
    await data.text_search.backfill_text_grams(db)  # demo fans seeded before the trigrams
    # The fans' tags as the tags sync lists them (given when the fan was created).
    await db.fan_tags.bulk_write(
        [_upsert(row) for f in fans for row in data.tags_sync.tag_rows(f, f["created_ms"])],
        ordered=False,
    )
    await db.ticket_events.bulk_write(
        [_upsert(_event(partner.id, slug, i, today)) for i in range(len(EVENTS))], ordered=False
    )
    await db.tickets.bulk_write([_upsert(t) for t in tickets], ordered=False)
    firsts: dict[str, int] = {}
    for t in tickets:
        if t["is_deleted"]:
            continue
        ms = data.to_ms(t["purchased_at"])
        firsts[t["fan_id"]] = min(ms, firsts.get(t["fan_id"], ms))
    await db.fans.bulk_write(
        [UpdateOne({"_id": f}, {"$min": {"first_purchase_ms": ms}}) for f, ms in firsts.items()],
        ordered=False,
    )
    await db.crm_campaigns.bulk_write(
        [_upsert(_campaign(partner.id, slug, i, fans, start)) for i in range(len(CAMPAIGNS))],
        ordered=False,
    )
    await db.fan_activities.bulk_write(
        [_upsert(_activity(partner.id, slug, i, fans, start)) for i in range(ACTIVITIES)],
        ordered=False,
    )
    await db.fan_point_awards.bulk_write(
        [_upsert(_award(partner.id, slug, i, fans, start)) for i in range(AWARDS)], ordered=False
    )
    await db.crm_purchases.bulk_write(
        [_upsert(_purchase(partner.id, slug, i, fans, today)) for i in range(PURCHASES)],
        ordered=False,
    )
    activities = [_activity(partner.id, slug, i, fans, start) for i in range(ACTIVITIES)]
    await _seed_last_activity(db, activities)
    await _seed_segments(db, partner.id, slug, fans, today)
    await _seed_keys(db, partner, demo, slug, today)
    # Keep the sequences ahead of the demo rows so API-created rows sort after them.
    for name, top in (("tickets", TICKETS), ("activities", ACTIVITIES)):
        await db.crm_counters.update_one(
            {"_id": f"{partner.id}:{name}"}, {"$max": {"seq": top}}, upsert=True
        )


def _fan(partner_id: str, slug: str, i: int, start: datetime) -> Document:
    fields: dict[str, Any] = {
        "email": f"fan{i:02d}@{slug}.demo",
        "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
        "last_name": LAST_NAMES[i % len(LAST_NAMES)],
        "gender": ("female", "male", "diverse", "other")[i % 4],
        "is_subscribed": i % 3 != 0, "is_phone_subscribed": i % 5 == 0, "is_optout": i % 17 == 0,
        "tags": [TAGS[i % len(TAGS)]] + (["vip"] if i % 10 == 0 and i % 4 else []),
        "fields": {"favourite_genre": ("jazz", "rock", "classical")[i % 3]},
        "country_code": ("DE", "AT", "CH")[i % 3],
        "province": ("Bavaria", "Vienna", "Zurich")[i % 3],
        "city": ("Munich", "Vienna", "Zurich")[i % 3],
        "postal_code": f"{10000 + i * 37}",
        "source": "demo",
        "created_at": start - timedelta(days=30) + timedelta(hours=i * 7),
        "birth_date": f"{1960 + (i * 7) % 45}-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 6 else "",
        # The search-result profile (rating, location, networks, idols); every fifth unrated.
        "rating": i % 6, "metro_area": ("Munich", "Vienna", "Zurich")[i % 3] + " Metro",
        "latitude": (48.14, 48.21, 47.37)[i % 3], "longitude": (11.58, 16.37, 8.54)[i % 3],
        "ip_address": f"192.0.2.{i + 1}",
        "networks": [("facebook", "spotify", "instagram")[i % 3]] + (["spotify"] if i % 4 == 1
                                                                     else []),
        "idol_names": [("The Lakers", "Nina Sky", "Opera House")[i % 3]] if i % 5 else [],
    }  # fmt: skip
    if i % 4 == 0:
        fields["phone"] = f"+4915100{i:05d}"
    doc = data.new_fan_doc(partner_id, fields)
    doc["_id"] = f"fan_demo-{slug}-{i:03d}"
    return doc


def _event(partner_id: str, slug: str, i: int, today: datetime) -> Document:
    key, name, venue, artist, offset, _ = EVENTS[i]
    created = today - timedelta(days=90)
    return {
        "_id": f"tev_demo-{slug}-{key}", "partner_id": partner_id, "event_key": key,
        "event_name": name, "event_date": (today + timedelta(days=offset)).date().isoformat(),
        "network": "demo-tix", "venue_name": venue, "artist_name": artist, "notes": "",
        "label_name": "", "event_type": "concert", "created_at": created,
        "updated_ms": data.to_ms(created),
    }  # fmt: skip


def _ticket(partner_id: str, slug: str, i: int, fans: list[Document], start: datetime,
            today: datetime) -> Document:  # fmt: skip
    # Each fan buys twice (i and i + 60 hit the same fan): half of the buyers return.
    fan = fans[(i * 7) % FANS]
    key, name, venue, artist, offset, price = EVENTS[i % len(EVENTS)]
    purchased = start + timedelta(hours=i * 12 + 9)
    seats = 1 + i % 4
    return {
        "_id": f"tkt_demo-{slug}-{i:04d}", "partner_id": partner_id, "seq": i + 1,
        "ticket_key": f"demo-{slug}-{i:04d}", "email": fan["email"],
        "first_name": fan["first_name"], "last_name": fan["last_name"],
        "phone": fan.get("phone", ""), "purchased_at": purchased,
        "purchase_day": purchased.date().isoformat(), "paid_amount": price * seats,
        "currency": "EUR", "num_seats": seats,
        "event_date": (today + timedelta(days=offset)).date().isoformat(), "event_name": name,
        "event_key": key, "customer_key": f"cust-{fan['_id']}", "price_code": "A",
        "city": fan["city"], "province": fan["province"], "postal_code": fan["postal_code"],
        "country_code": fan["country_code"], "metro_area": fan["metro_area"],
        "artist_name": artist, "venue_name": venue,
        "network": "demo-tix", "order_key": f"ord-{slug}-{i // 2:04d}", "is_deleted": i % 41 == 40,
        "fan_id": fan["_id"], "created_at": purchased, "updated_ms": data.to_ms(purchased),
    }  # fmt: skip


def _campaign_key(title: str) -> str:
    return f"tab-{title.lower().replace(' ', '-')}"


def _campaign(partner_id: str, slug: str, i: int, fans: list[Document],
              start: datetime) -> Document:  # fmt: skip
    """The three campaigns as CRM campaigns (meta apps); the draw is over and has a winner."""
    title = CAMPAIGNS[i]
    app_type, stream = CAMPAIGN_APPS[i]
    created = start - timedelta(days=5 - i)
    return {
        "_id": f"ccp_demo-{slug}-{i}", "partner_id": partner_id,
        "campaign_id": _campaign_key(title), "title": title, "title_lower": title.lower(),
        "app_type": app_type, "stream_key": stream, "is_active": i != 2,
        "winner_fan_id": fans[22]["_id"] if i == 2 else "",
        "hidden_fan_ids": [fans[h]["_id"] for h in HIDDEN] if i == 0 else [],
        "created_at": created, "created_ms": data.to_ms(created),
    }  # fmt: skip


def _activity(partner_id: str, slug: str, i: int, fans: list[Document],
              start: datetime) -> Document:  # fmt: skip
    at = start + timedelta(hours=i * 17)
    fan = fans[(i * 11) % FANS]
    c = i % len(CAMPAIGNS)
    title = CAMPAIGNS[c]
    props = {"score": str(i % 10), "answer": ("a", "b", "c")[i % 3]}
    return {
        "_id": f"fac_demo-{slug}-{i:04d}", "partner_id": partner_id, "seq": i + 1,
        "fan_id": fan["_id"], "campaign_title": title, "props": props,
        "counter_keys": data.counter_keys(partner_id, title, props),
        "campaign_id": _campaign_key(title), "app_type": CAMPAIGN_APPS[c][0],
        "stream_key": CAMPAIGN_APPS[c][1], "ip_address": f"203.0.113.{1 + i % 200}",
        "user_key": f"fb-{1000 + i}" if i % 3 == 0 else "",
        "networks": [NETWORKS[i % 3]] if i % 2 == 0 else [],
        "idol_names": [IDOLS[i % 4]] if i % 3 != 2 else [],
        "duration_ms": 20_000 + (i * 7919) % 90_000 if c == 0 else None,
        "correct_count": (i * 3) % 11 if c == 0 else None,
        "name": f"{fan['first_name']} {fan['last_name']}",
        "is_subscribed": fan["is_subscribed"], "is_phone_subscribed": fan["is_phone_subscribed"],
        "business_opt_ins": list(fan["business_opt_ins"]),
        "day": at.date().isoformat(), "created_at": at,
    }  # fmt: skip


def _award(partner_id: str, slug: str, i: int, fans: list[Document], start: datetime) -> Document:
    fan = fans[(i * 13) % 25]  # 25 fans share the points: a leaderboard with ties and gaps
    point = ("stars", "badges")[i % 2]
    at = start + timedelta(hours=i * 14)
    return {
        "_id": f"fpa_demo-{slug}-{i:04d}", "partner_id": partner_id, "fan_id": fan["_id"],
        "point_name": point, "count": 5 + (i * 3) % 20 if i % 9 else -5,
        "fan_point": f"{fan['_id']}|{point}", "award_key": f"demo-{slug}-{i:04d}",
        "day": at.date().isoformat(), "created_at": at,
        # every tenth award is venue points (not on leaderboards); some belong to a campaign
        "point_type": "atvenu" if i % 10 == 9 else "points",
        **({"campaign_id": f"tab-{CAMPAIGNS[i % 3].lower().replace(' ', '-')}"} if i % 4 == 0
           else {}),
    }  # fmt: skip


def _purchase(
    partner_id: str, slug: str, i: int, fans: list[Document], today: datetime
) -> Document:
    """Two line items per order over the last 20 days, in two shops; buyers are demo fans."""
    fan = fans[(i * 7) % FANS]
    key, name, category, price = PRODUCTS[i % len(PRODUCTS)]
    order = i // 2
    at = data.to_ms(today - timedelta(hours=order * 11 + 1))
    net = price - (500 if i % 5 == 0 else 0)
    return {
        "_id": f"pur_demo-{slug}-{i:04d}", "partner_id": partner_id,
        "purchase_key": f"shop-o{order:03d}-{i % 2}", "network": "shop",
        "order_key": f"o{order:03d}", "merchant_key": ("merch-stand", "web-store")[order % 2],
        "location_key": ("arena", "")[order % 2], "customer_key": f"c{(i * 7) % FANS:03d}",
        "fan_id": fan["_id"], "order_ms": at, "gross_sale_amount": price,
        "net_sale_amount": net, "deduction_amount": price - net, "currency": "EUR",
        "product_key": key, "product_name": name, "product_name_lower": name.lower(),
        "product_category": category, "email": fan.get("email", ""), "phone": "",
        "country_code": "", "province": "", "city": "", "created_ms": at, "updated_ms": at,
    }  # fmt: skip


async def _seed_keys(
    db: Database, partner: DemoPartner, demo: DemoSecrets, slug: str, today: datetime
) -> None:
    """A public (read-only) and a secret key with both scopes; printed by `seed --json`."""
    shown: list[dict[str, str]] = []
    for kind in ("public", "secret"):
        key, visible = demo.crm_key(f"crm-key:{partner.id}:{kind}", secret=kind == "secret")
        doc: Document = {
            "_id": f"cak_demo-{slug}-{kind}", "partner_id": partner.id,
            "name": f"demo {kind} key", "kind": kind, "scopes": ["crm", "segments"],
            "key_prefix": visible, "key_digest": creds.digest(key), "created_by": "demo",
            "revoked": False, "created_at": today, "last_used_ms": 0, "revoked_at_ms": 0,
        }  # fmt: skip
        await db.crm_api_keys.bulk_write([_upsert(doc)])
        shown.append({"kind": kind, "header": "Api-Secret" if kind == "secret" else "Api-Key",
                      "key": key})  # fmt: skip
    partner.extra["crm_keys"] = shown


async def _seed_last_activity(db: Database, activities: list[Document]) -> None:
    """The fans' pre-computed last activity, networks and idols, as `insert_activity` keeps
    them (for the search and the activities' `include_details`)."""
    latest: dict[str, Document] = {}
    connected: dict[str, dict[str, set[str]]] = {}
    for a in activities:
        if a["fan_id"] not in latest or a["created_at"] > latest[a["fan_id"]]["created_at"]:
            latest[a["fan_id"]] = a
        sets = connected.setdefault(a["fan_id"], {"networks": set(), "idol_names": set()})
        sets["networks"].update(a["networks"])
        sets["idol_names"].update(a["idol_names"])

    def update(fan_id: str, a: Document) -> UpdateOne:
        added = {k: {"$each": sorted(v)} for k, v in connected[fan_id].items() if v}
        return UpdateOne({"_id": fan_id}, {
            "$max": {"last_active_ms": data.to_ms(a["created_at"]),
                     "active_ms": data.to_ms(a["created_at"])},
            "$set": {"last_campaign_title": a["campaign_title"],
                     "last_campaign_id": a.get("campaign_id", "")},
            **({"$addToSet": added} if added else {}),
        })  # fmt: skip

    # `$addToSet` needs the arrays to exist on the embedded store (see loaders.crm.activities)
    for key in ("networks", "idol_names"):
        await db.fans.update_many({"_id": {"$in": sorted(latest)}, key: {"$exists": False}},
                                  {"$set": {key: []}})  # fmt: skip
    await db.fans.bulk_write([update(f, a) for f, a in latest.items()], ordered=False)


async def _seed_segments(
    db: Database, partner_id: str, slug: str, fans: list[Document], today: datetime
) -> None:
    """A saved search (subscribed VIPs) and a snapshot (the newsletter fans at seed time)."""
    saved: Document = {
        "_id": f"sfl_demo-{slug}-vip", "partner_id": partner_id, "name": "Subscribed VIPs",
        "filter": segments.filter_to_doc({"tags": ["vip"], "is_subscribed": True}),
        "created_at": today, "created_ms": data.to_ms(today), "last_search_count": 0,
    }  # fmt: skip
    members = [f["_id"] for f in fans if "newsletter" in f["tags"]]
    snapshot: Document = {
        "_id": f"snp_demo-{slug}-newsletter", "partner_id": partner_id,
        "name": "Newsletter fans (seed)",
        "filter": segments.filter_to_doc({"tags": ["newsletter"]}),
        "fan_count": len(members), "created_at": today, "created_ms": data.to_ms(today),
    }  # fmt: skip
    await db.crm_search_filters.bulk_write([_upsert(saved)])
    await db.crm_snapshots.bulk_write([_upsert(snapshot)])
    await segments.add_snapshot_members(db, partner_id, snapshot["_id"], members)
