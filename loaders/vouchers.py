"""Voucher codes: generation, the status lifecycle, listing, stats and the one-shot claim.

Lifecycle: active -> redeemed | revoked, and active -> expired by time alone. Expiry is
never written: a voucher whose expiry has passed *is* expired at read time, so `status`
filters translate to `expires_ms` ranges in `find`.

Redemption is safe under partial failure (a store stall between two writes): the member
document is the commit point (a unique index on `members.voucher_id` admits one member per
voucher), and the voucher's REDEEMED state is a *claim* taken before the member is
inserted (`claim_ms` > 0 while unconfirmed, with the claimant's email). A confirmed claim
has `claim_ms` 0. An unconfirmed claim is settled from the members collection on the next
read that meets it (`settle_claim`): the member that holds the voucher is recorded, or,
with no holder after CLAIM_GRACE_MS, the voucher is active again. The same email may take
over its own unconfirmed claim at once (a retry after an ambiguous failure).

Times that are compared or sorted on are epoch-ms integers (`created_ms`, `expires_ms`;
the datetimes are kept for display): the embedded store compares datetimes only to the
second, ignores them inside an aggregation `$match`, and turns a datetime written by
`$set` into a string (so `redeemed_ms` / `revoked_ms` are ints too; 0 = never).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from gateway.core.errors import BadUserInput
from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import (
    IndexSpec,
    Page,
    Scope,
    ScopedLoader,
    epoch_ms,
    in_key_order,
    match_stage,
    paginate,
    utcnow,
)

INDEXES = [
    IndexSpec("vouchers", [("code", 1)], unique=True),
    IndexSpec("vouchers", [("partner_id", 1), ("created_ms", -1), ("_id", -1)]),
    IndexSpec("vouchers", [("partner_id", 1), ("status", 1), ("expires_ms", 1)]),
    IndexSpec("vouchers", [("partner_id", 1), ("claim_ms", 1)]),
]

# An unconfirmed claim this old, with no member holding the voucher, is abandoned: longer
# than any write the driver still retries (its timeouts are seconds).
CLAIM_GRACE_MS = 60_000
STALE_CLAIMS_PER_READ = 50

# No 0/O or 1/I: codes are read aloud and typed from paper.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_BODY_LENGTH = 6
MAX_QUANTITY = 500
PREFIX_RE = re.compile(r"^[A-Z0-9]{1,12}$")
CODE_RE = re.compile(r"^[A-Z0-9-]{1,40}$")
MAX_GENERATE_ATTEMPTS = 8

# A voucher without an expiry date expires at the end of time (no nulls to match on).
NEVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
NEVER_MS = epoch_ms(NEVER)

ACTIVE, REDEEMED, REVOKED, EXPIRED = "active", "redeemed", "revoked", "expired"
STATUSES = (ACTIVE, REDEEMED, EXPIRED, REVOKED)
SORT = [("created_ms", -1), ("_id", -1)]


def random_code_body() -> str:
    """Six characters of the unambiguous alphabet (a module attribute: tests force clashes)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_BODY_LENGTH))


def status_of(doc: Document, now: datetime | None = None) -> str:
    """The status as of now: a stored `active` past its expiry reads as `expired`."""
    if doc["status"] == ACTIVE and doc["expires_ms"] <= epoch_ms(now or utcnow()):
        return EXPIRED
    return str(doc["status"])


def status_filter(status: str, now: datetime) -> dict[str, Any]:
    """The `find` filter selecting vouchers that read as `status` now."""
    if status == ACTIVE:
        return {"status": ACTIVE, "expires_ms": {"$gt": epoch_ms(now)}}
    if status == EXPIRED:
        return {"status": ACTIVE, "expires_ms": {"$lte": epoch_ms(now)}}
    return {"status": status}


def normalize_code(code: str) -> str | None:
    """Codes compare upper-case and trimmed; None when it cannot be a code at all."""
    code = code.strip().upper()
    return code if CODE_RE.match(code) else None


def validate_generation(
    quantity: int, prefix: str | None, expires_at: datetime | None, now: datetime
) -> tuple[str, datetime]:
    """Checks every argument of `generateVouchers` before anything is written."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise BadUserInput(f"must be between 1 and {MAX_QUANTITY}", field="quantity")
    clean_prefix = ""
    if prefix is not None:
        clean_prefix = prefix.strip().upper()
        if not PREFIX_RE.match(clean_prefix):
            raise BadUserInput("1 to 12 characters A-Z or 0-9", field="prefix")
    if expires_at is not None and expires_at <= now:
        raise BadUserInput("must be in the future", field="expiresAt")
    return clean_prefix, expires_at or NEVER


def _new_voucher(partner_id: str, prefix: str, expires_at: datetime, now: datetime) -> Document:
    body = random_code_body()
    return {
        "_id": new_id("vch"),
        "partner_id": partner_id,
        "code": f"{prefix}-{body}" if prefix else body,
        "prefix": prefix,
        "status": ACTIVE,
        "expires_at": expires_at,
        "expires_ms": epoch_ms(expires_at),
        "created_at": now,
        "created_ms": epoch_ms(now),
        "redeemed_ms": 0,
        "redeemed_by": "",
        "claim_ms": 0,
        "claim_email": "",
        "revoked_ms": 0,
    }


async def generate_vouchers(
    db: Database, partner_id: str, quantity: int, prefix: str, expires_at: datetime
) -> list[Document]:
    """Insert `quantity` vouchers with unique codes; clashes (unique index) are re-drawn."""
    now = utcnow()
    created: list[Document] = []
    pending = quantity
    for _ in range(MAX_GENERATE_ATTEMPTS):
        batch: list[Document] = []
        seen = {doc["code"] for doc in created}
        while len(batch) < pending:
            doc = _new_voucher(partner_id, prefix, expires_at, now)
            if doc["code"] not in seen:
                seen.add(doc["code"])
                batch.append(doc)
        try:
            await db.vouchers.insert_many(batch, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != 11000 for err in errors):
                raise
            clashed = {err["index"] for err in errors}
            created.extend(doc for i, doc in enumerate(batch) if i not in clashed)
            pending = len(clashed)
            continue
        created.extend(batch)
        return created
    raise RuntimeError("could not draw unique voucher codes")


def list_query(
    scope: Scope, status: str | None, search: str | None, now: datetime
) -> dict[str, Any]:
    """The tenant's vouchers filtered by status (as of now) and a code fragment."""
    query: dict[str, Any] = scope.tenant()
    if status is not None:
        query.update(status_filter(status, now))
    if search:
        fragment = search.strip().upper()
        if len(fragment) > 40:
            raise BadUserInput("at most 40 characters", field="search")
        if fragment:
            query["code"] = {"$regex": re.escape(fragment)}
    return query


async def list_vouchers(
    db: Database, scope: Scope, status: str | None, search: str | None,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    query = list_query(scope, status, search, utcnow())
    await settle_stale_claims(db, scope)
    return await paginate(db.vouchers, query, sort=SORT, first=first, after=after)


async def iter_vouchers(db: Database, scope: Scope, status: str | None) -> AsyncIterator[Document]:
    """Every voucher of the tenant (streamed from the cursor, for exports)."""
    query = list_query(scope, status, None, utcnow())
    await settle_stale_claims(db, scope)
    async for doc in db.vouchers.find(query, sort=SORT):
        yield doc


async def voucher_stats(db: Database, scope: Scope) -> dict[str, int]:
    """Counts per status as of now: one grouped count plus one count of the expired."""
    await settle_stale_claims(db, scope)
    now = utcnow()
    pipeline = [match_stage(scope.tenant()), {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
    counts = {row["_id"]: int(row["n"]) async for row in await db.vouchers.aggregate(pipeline)}
    expired = await db.vouchers.count_documents({**scope.tenant(), **status_filter(EXPIRED, now)})
    stored_active = counts.get(ACTIVE, 0)
    return {
        "total": sum(counts.values()),
        ACTIVE: stored_active - expired,
        EXPIRED: expired,
        REDEEMED: counts.get(REDEEMED, 0),
        REVOKED: counts.get(REVOKED, 0),
    }


async def revoke_voucher(db: Database, scope: Scope, voucher_id: str) -> Document | None:
    """Revoke if still active (an expired one may be revoked too); else the unchanged doc."""
    doc = await db.vouchers.find_one_and_update(
        {**scope.tenant(), "_id": voucher_id, "status": ACTIVE},
        {"$set": {"status": REVOKED, "revoked_ms": epoch_ms(utcnow())}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is not None:
        return doc
    return await db.vouchers.find_one({**scope.tenant(), "_id": voucher_id})


async def find_by_code(db: Database, partner_id: str, code: str) -> Document | None:
    """The partner's voucher with this code; another partner's code is simply not found."""
    return await db.vouchers.find_one({"partner_id": partner_id, "code": code})


async def claim_voucher(
    db: Database, partner_id: str, code: str, member_id: str, email: str
) -> Document | None:
    """Atomically claim an active, unexpired voucher for `member_id`; None if it was not.

    One conditional update is the whole claim, so of many racing registrations exactly
    one wins. The claim stays unconfirmed (`claim_ms`) until the member is stored.
    """
    now = epoch_ms(utcnow())
    return await db.vouchers.find_one_and_update(
        {"partner_id": partner_id, "code": code, **status_filter(ACTIVE, utcnow())},
        {"$set": {"status": REDEEMED, "redeemed_ms": now, "redeemed_by": member_id,
                  "claim_ms": now, "claim_email": email}},
        return_document=ReturnDocument.AFTER,
    )  # fmt: skip


def may_take_over(doc: Document, email: str, now_ms: int | None = None) -> bool:
    """An unconfirmed claim a registration with `email` may take over: its own, or abandoned."""
    claimed = int(doc.get("claim_ms") or 0)
    if doc["status"] != REDEEMED or claimed <= 0:
        return False
    now_ms = now_ms if now_ms is not None else epoch_ms(utcnow())
    return doc.get("claim_email") == email or claimed < now_ms - CLAIM_GRACE_MS


async def take_over_claim(
    db: Database, doc: Document, member_id: str, email: str
) -> Document | None:
    """Move an unconfirmed claim to a new registration, if it is still the one read."""
    now = epoch_ms(utcnow())
    return await db.vouchers.find_one_and_update(
        {"_id": doc["_id"], "status": REDEEMED, "redeemed_by": doc["redeemed_by"],
         "claim_ms": doc["claim_ms"]},
        {"$set": {"redeemed_ms": now, "redeemed_by": member_id, "claim_ms": now,
                  "claim_email": email}},
        return_document=ReturnDocument.AFTER,
    )  # fmt: skip


async def confirm_claim(db: Database, voucher_id: str, member_id: str) -> None:
    """The member holding the voucher is stored: the claim is final."""
    await db.vouchers.update_one(
        {"_id": voucher_id, "redeemed_by": member_id}, {"$set": {"claim_ms": 0}}
    )


async def record_holder(db: Database, voucher_id: str, holder: Document) -> None:
    """The voucher is redeemed by the member that holds it (whatever the claim said)."""
    await db.vouchers.update_one(
        {"_id": voucher_id},
        {"$set": {"status": REDEEMED, "redeemed_by": holder["_id"], "claim_ms": 0,
                  "redeemed_ms": int(holder.get("created_ms") or epoch_ms(utcnow()))}},
    )  # fmt: skip


async def release_claim(db: Database, doc: Document) -> None:
    """Make an unconfirmed claim's voucher active again (only if it is still that claim)."""
    await db.vouchers.update_one(
        {"_id": doc["_id"], "status": REDEEMED, "redeemed_by": doc["redeemed_by"],
         "claim_ms": doc["claim_ms"]},
        {"$set": {"status": ACTIVE, "redeemed_ms": 0, "redeemed_by": "", "claim_ms": 0,
                  "claim_email": ""}},
    )  # fmt: skip


async def holder_of(db: Database, partner_id: str, voucher_id: str) -> Document | None:
    """The member created with this voucher (the unique index admits one)."""
    return await db.members.find_one(
        {"partner_id": partner_id, "voucher_id": voucher_id}, {"password_hash": 0}
    )


async def settle_claim(db: Database, doc: Document) -> Document:
    """The voucher as the members collection says it is (see the module docstring).

    A confirmed or merely young claim is returned as it is.
    """
    if doc["status"] != REDEEMED or int(doc.get("claim_ms") or 0) <= 0:
        return doc
    holder = await holder_of(db, doc["partner_id"], doc["_id"])
    if holder is not None:
        await record_holder(db, doc["_id"], holder)
        return {**doc, "redeemed_by": holder["_id"], "claim_ms": 0}
    if int(doc["claim_ms"]) >= epoch_ms(utcnow()) - CLAIM_GRACE_MS:
        return doc
    await release_claim(db, doc)
    return {**doc, "status": ACTIVE, "redeemed_ms": 0, "redeemed_by": "", "claim_ms": 0}


async def settle_stale_claims(db: Database, scope: Scope) -> None:
    """Settle the tenant's abandoned claims before a list or count reads them (usually none)."""
    cutoff = epoch_ms(utcnow()) - CLAIM_GRACE_MS
    query = {**scope.tenant(), "claim_ms": {"$gt": 0, "$lt": cutoff}}
    async for doc in db.vouchers.find(query, limit=STALE_CLAIMS_PER_READ):
        await settle_claim(db, doc)


class VoucherByIdLoader(ScopedLoader[str, Document | None]):
    """Vouchers by id, within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query: dict[str, Any] = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.vouchers.find(query).to_list(None)
        return in_key_order(keys, rows)
