"""Given-state helpers for the portal slices (vouchers, members, products, content)."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timedelta
from typing import Any

from gateway.auth.passwords import hash_password
from gateway.storage.mongo import Database, Document
from loaders import members as member_data
from loaders import vouchers as voucher_data
from loaders.base import epoch_ms, utcnow

PASSWORD = "member-password-1"


@functools.cache
def hashed(password: str) -> str:
    """One real argon2id hash per password per test process: at ~0.1-0.25 s a hash, hashing
    afresh for every persona of every test cost minutes of the suite."""
    return hash_password(password)


def password_hash() -> str:
    return hashed(PASSWORD)


async def given_voucher(
    db: Database, partner_id: str, *, code: str | None = None, status: str = "active",
    expires_at: datetime | None = None, created_at: datetime | None = None,
) -> Document:  # fmt: skip
    now = utcnow()
    doc: Document = {
        "_id": f"vch_{uuid.uuid4().hex[:16]}",
        "partner_id": partner_id,
        "code": code or f"T-{uuid.uuid4().hex[:8].upper()}",
        "prefix": "T",
        "status": status,
        "expires_at": expires_at or voucher_data.NEVER,
        "expires_ms": epoch_ms(expires_at or voucher_data.NEVER),
        "created_at": created_at or now,
        "created_ms": epoch_ms(created_at or now),
        "redeemed_ms": epoch_ms(now) if status == "redeemed" else 0,
        "redeemed_by": "",
        "revoked_ms": epoch_ms(now) if status == "revoked" else 0,
    }
    await db.vouchers.insert_one(doc)
    return doc


async def given_class(
    db: Database, partner_id: str, title: str = "Morning Flow", category: str = "Yoga"
) -> Document:
    doc = member_data.new_class(partner_id, title, category, 30)
    await db.classes.insert_one(doc)
    return doc


async def given_member(
    db: Database, partner_id: str, *, member_id: str | None = None, name: str = "Ann Member",
    email: str | None = None, created_at: datetime | None = None,
) -> Document:  # fmt: skip
    voucher = await given_voucher(db, partner_id, status="redeemed")
    doc = member_data.new_member(
        partner_id, name, email or f"m-{uuid.uuid4().hex[:8]}@example.com", password_hash(),
        voucher, member_id=member_id, now=created_at,
    )  # fmt: skip
    await db.members.insert_one(doc)
    await db.vouchers.update_one({"_id": voucher["_id"]}, {"$set": {"redeemed_by": doc["_id"]}})
    return doc


async def given_watches(
    db: Database, member: Document, klass: Document, minutes: list[int],
    at: datetime | None = None,
) -> list[Document]:  # fmt: skip
    """Watch events (one per entry, a minute apart, ending at `at`) and the member counters."""
    end = at or utcnow()
    events = [
        member_data.new_watch_event(member, klass, m, end - timedelta(minutes=len(minutes) - i))
        for i, m in enumerate(minutes)
    ]
    if events:
        await db.watch_events.insert_many(events)
        update: dict[str, Any] = {
            "$inc": {"watch_minutes": sum(minutes), "classes_watched": len(minutes)},
            "$max": {"last_watched_ms": max(e["ts"] for e in events)},
        }
        await db.members.update_one({"_id": member["_id"]}, update)
    return events
