"""Demo vouchers that no member holds: active, expired and revoked (members.py adds the
redeemed ones). Fixed ids and codes derived from the partner id make re-runs idempotent."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pymongo import ReplaceOne

from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.storage.mongo import Database, Document
from loaders import vouchers as data
from loaders.base import epoch_ms, utcnow

UNREDEEMED = 45  # with the 60 redeemed by members: > 60 in every partner, every status


def demo_code(partner: DemoPartner, label: str) -> str:
    """A stable code for this partner and label, in the voucher alphabet."""
    digest = hashlib.sha256(f"{partner.id}:{label}".encode()).digest()
    body = "".join(data.ALPHABET[b % len(data.ALPHABET)] for b in digest[: data.CODE_BODY_LENGTH])
    return f"{partner.id.removeprefix('par_demo-').upper()[:12]}-{body}"


def demo_voucher(
    partner: DemoPartner,
    label: str,
    status: str,
    days_to_expiry: int,
    created: datetime | None = None,
) -> Document:
    now = utcnow().replace(microsecond=0)
    created = created or now - timedelta(days=100)
    expires = now + timedelta(days=days_to_expiry) if days_to_expiry else data.NEVER
    return {
        "_id": f"vch_demo-{partner.id.removeprefix('par_demo-')}-{label}",
        "partner_id": partner.id,
        "code": demo_code(partner, label),
        "prefix": partner.id.removeprefix("par_demo-").upper()[:12],
        "status": status,
        "expires_at": expires,
        "expires_ms": epoch_ms(expires),
        "created_at": created,
        "created_ms": epoch_ms(created),
        "redeemed_ms": 0,
        "redeemed_by": "",
        "revoked_ms": epoch_ms(now - timedelta(days=3)) if status == data.REVOKED else 0,
    }


async def seed(db: Database, partner: DemoPartner, demo: DemoSecrets) -> None:
    ops = []
    for i in range(UNREDEEMED):
        kind = i % 3
        if kind == 0:
            doc = demo_voucher(partner, f"v{i:03d}", data.ACTIVE, 0 if i % 2 else 180)
            partner.unused_voucher_codes.append(doc["code"])
        elif kind == 1:
            doc = demo_voucher(partner, f"v{i:03d}", data.ACTIVE, -(i + 1))  # expired
        else:
            doc = demo_voucher(partner, f"v{i:03d}", data.REVOKED, 0)
        ops.append(ReplaceOne({"_id": doc["_id"]}, doc, upsert=True))
    await db.vouchers.bulk_write(ops, ordered=False)
