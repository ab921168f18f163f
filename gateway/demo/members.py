"""Demo class catalogue, members (each with its redeemed voucher) and 90 days of watch
history. Deterministic per partner (fixed ids, seeded RNG) and written with bulk upserts,
so re-running replaces rather than duplicates. Demo members log in with
`memberNN@<slug>.demo` / DEMO_MEMBER_PASSWORD through the partner's app key."""

from __future__ import annotations

import random
from datetime import timedelta

from pymongo import ReplaceOne

from gateway.auth.passwords import hash_password
from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.demo.vouchers import demo_voucher
from gateway.storage.mongo import Database, Document
from loaders import members as data
from loaders import vouchers as voucher_data
from loaders.base import epoch_ms, utcnow

DEMO_MEMBER_PASSWORD = "demo-member-pass"  # noqa: S105 - a documented demo login
MEMBERS = 64
HISTORY_DAYS = 90
CLASSES = [
    ("Sunrise Flow", "Yoga", 30), ("Deep Stretch", "Yoga", 45), ("Power Yoga", "Yoga", 60),
    ("Tabata Blast", "HIIT", 20), ("Full Body Burn", "HIIT", 30),
    ("Core Pilates", "Pilates", 40), ("Reformer Basics", "Pilates", 50),
    ("Strength 101", "Strength", 45), ("Kettlebell Flow", "Strength", 35),
    ("Calm Mind", "Meditation", 10), ("Sleep Wind-down", "Meditation", 15),
    ("Hill Intervals", "Cycling", 45),
]  # fmt: skip
FIRST = ["Ava", "Ben", "Cleo", "Dan", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jade", "Kai", "Lia"]
LAST = ["Moss", "Nash", "Oak", "Park", "Quinn", "Reed", "Stone", "Vale"]

_hash: list[str] = []


def _password_hash() -> str:
    if not _hash:
        _hash.append(hash_password(DEMO_MEMBER_PASSWORD))
    return _hash[0]


async def seed(db: Database, partner: DemoPartner, demo: DemoSecrets) -> None:
    slug = partner.id.removeprefix("par_demo-")
    now = utcnow().replace(microsecond=0)
    rng = random.Random(f"{partner.id}:members")  # noqa: S311 - demo data, not secrets
    classes = [
        data.new_class(partner.id, title, category, minutes, f"cls_demo-{slug}-{i:02d}",
                       now - timedelta(days=200))
        for i, (title, category, minutes) in enumerate(CLASSES)
    ]  # fmt: skip
    members: list[Document] = []
    vouchers: list[Document] = []
    events: list[Document] = []
    for i in range(MEMBERS):
        joined = now - timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 1440))
        # Issued a few days before it was redeemed: a member is never older than its voucher.
        issued = joined - timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 1440))
        voucher = demo_voucher(partner, f"m{i:03d}", voucher_data.REDEEMED, 0, created=issued)
        member_id = f"mem_demo-{slug}-{i:03d}"
        voucher.update(redeemed_ms=epoch_ms(joined), redeemed_by=member_id)
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
        member = data.new_member(partner.id, name, f"member{i:02d}@{slug}.demo",
                                 _password_hash(), voucher, member_id, joined)  # fmt: skip
        # A quarter never watch or stopped a while ago: the "inactive" members.
        last_day = 0 if i % 4 else rng.randint(35, 80)
        window = min(HISTORY_DAYS, (now - joined).days)
        for j in range(rng.randint(3, 18) if window > last_day else 0):
            at = now - timedelta(days=rng.randint(last_day, window), minutes=rng.randint(0, 1440))
            at = max(at, joined)
            klass = classes[rng.randrange(len(classes))]
            minutes = rng.randint(5, int(klass["duration_minutes"]))
            event = data.new_watch_event(
                member, klass, minutes, at, f"wev_demo-{slug}-{i:03d}-{j:02d}"
            )
            events.append(event)
            member["watch_minutes"] += minutes
            member["classes_watched"] += 1
            member["last_watched_ms"] = max(member["last_watched_ms"], event["ts"])
        members.append(member)
        vouchers.append(voucher)
    partner.member_login = {
        "email": f"member00@{slug}.demo", "password": DEMO_MEMBER_PASSWORD,
        "appKey": partner.app_keys[0] if partner.app_keys else "",
        "how": "memberLogin(email, password) with the app key in X-API-Key",
    }  # fmt: skip
    for collection, docs in (("classes", classes), ("vouchers", vouchers),
                             ("members", members), ("watch_events", events)):  # fmt: skip
        if docs:
            await db[collection].bulk_write(
                [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False
            )
