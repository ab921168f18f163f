"""MongoDB access for the gateway's own hardening state, shared by every instance.

- `rate_limits`: one counter document per (bucket, window start), bumped atomically
  with `$inc` (or inserted); a TTL index on `expires_at` removes finished windows.
  Gateway processes push their local counts in batches (`sync_windows`).
- `login_attempts`: failed logins per account / per client IP with lock-out state.
- `persisted_operations`: operation texts by SHA-256 (APQ registrations and the
  production safelist written by `gateway operations register`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from gateway.storage.mongo import Database, Document
from loaders.base import IndexSpec, epoch_ms, utcnow

INDEXES = [
    IndexSpec("rate_limits", [("expires_at", 1)], expire_after_seconds=0),
    IndexSpec("login_attempts", [("expires_at", 1)], expire_after_seconds=0),
    # APQ registrations expire; safelisted documents carry no `expires_at` and stay.
    IndexSpec("persisted_operations", [("expires_at", 1)], expire_after_seconds=0),
]

# Kinds as strings, not booleans: the embedded store reads a `$set` boolean back as 1/0.
SAFELIST = "safelist"
APQ = "apq"

APQ_TTL = timedelta(days=30)
LOGIN_STATE_TTL = timedelta(days=1)


# --- rate limits ---------------------------------------------------------------------


async def _inc_or_insert(
    collection: Any, key: str, inc: dict[str, int], fresh: Document
) -> Document:
    """`$inc` an existing document, or insert `fresh` (racing inserts retry the `$inc`).

    Not an upserting find_one_and_update: on the embedded store that ignores
    `$setOnInsert` and stores `$set` datetimes as strings, and TTL needs real dates.
    """
    for _ in range(3):
        doc = await collection.find_one_and_update(
            {"_id": key}, {"$inc": inc}, return_document=ReturnDocument.AFTER
        )
        if doc is not None:
            return dict(doc)
        try:
            await collection.insert_one({"_id": key, **fresh})
            return {"_id": key, **fresh}
        except DuplicateKeyError:
            continue  # another request (or instance) created it first: count on it
    raise RuntimeError(f"could not count {key}")  # pragma: no cover


async def sync_windows(
    db: Database, pushes: dict[str, tuple[int, datetime]], reads: list[str]
) -> dict[str, int]:
    """Add each pushed amount to its window counter and read the totals of `reads`.

    `pushes` maps counter id -> (units to add, window end); `reads` are the counter ids
    whose totals the caller wants (pushed ones included). At most four commands however
    many counters: one read, one bulk `$inc`, one insert of new counters (and one more
    `$inc` for counters another instance inserted meanwhile). The totals are as of the
    read plus what this call added, so they may miss units other instances added during
    the call (the caller's next sync sees them).
    """
    ids = sorted({*reads, *pushes})
    rows = await db.rate_limits.find({"_id": {"$in": ids}}, {"count": 1}).to_list(None)
    totals = {row["_id"]: int(row["count"]) for row in rows}
    incs = [UpdateOne({"_id": k}, {"$inc": {"count": n}}) for k, (n, _) in pushes.items()
            if k in totals]  # fmt: skip
    fresh = [{"_id": k, "count": n, "expires_at": end} for k, (n, end) in pushes.items()
             if k not in totals]  # fmt: skip
    if incs:
        await db.rate_limits.bulk_write(incs, ordered=False)
    if fresh:
        try:
            await db.rate_limits.insert_many(fresh, ordered=False)
        except BulkWriteError as exc:
            # Another instance created some of them first: count on its documents.
            raced = [fresh[e["index"]]["_id"] for e in exc.details.get("writeErrors", ())
                     if e.get("code") == 11000]  # fmt: skip
            if raced:
                await db.rate_limits.bulk_write(
                    [UpdateOne({"_id": k}, {"$inc": {"count": pushes[k][0]}}) for k in raced],
                    ordered=False,
                )
    for k, (n, _) in pushes.items():
        totals[k] = totals.get(k, 0) + n
    return {k: totals.get(k, 0) for k in ids}


# --- login attempts ------------------------------------------------------------------


async def locked_keys(db: Database, keys: list[str], now: datetime) -> list[str]:
    """The keys (account / IP) currently locked out."""
    rows = await db.login_attempts.find({"_id": {"$in": keys}}).to_list(None)
    return [row["_id"] for row in rows if int(row.get("locked_until_ms", 0)) > epoch_ms(now)]


@dataclass(frozen=True)
class LockPolicy:
    """How many failures within a window lock a key, and for how long (doubling)."""

    max_failures: int
    window: timedelta
    lock_base: timedelta
    lock_max: timedelta


async def record_failure(db: Database, key: str, policy: LockPolicy) -> datetime | None:
    """Count one failed login for the key; returns the lock end when this one locks it.

    Times are epoch-ms integers (the embedded store turns `$set` datetimes into
    strings); only `expires_at`, written at insert, is a date for the TTL index.
    """
    now = utcnow()
    doc = await _inc_or_insert(
        db.login_attempts,
        key,
        {"failures": 1},
        {
            "failures": 1,
            "window_start_ms": epoch_ms(now),
            "lockouts": 0,
            "locked_until_ms": 0,
            "expires_at": now + LOGIN_STATE_TTL,
        },
    )
    if int(doc.get("window_start_ms", 0)) < epoch_ms(now - policy.window):
        # The earlier failures are too old to count: this one starts a new window.
        await db.login_attempts.update_one(
            {"_id": key}, {"$set": {"failures": 1, "window_start_ms": epoch_ms(now)}}
        )
        doc["failures"] = 1
    if int(doc["failures"]) < policy.max_failures:
        return None
    lockouts = int(doc.get("lockouts", 0))
    period: timedelta = min(policy.lock_max, policy.lock_base * (2 ** min(lockouts, 20)))
    until: datetime = now + period
    await db.login_attempts.update_one(
        {"_id": key},
        {
            "$set": {
                "locked_until_ms": epoch_ms(until),
                "failures": 0,
                "window_start_ms": epoch_ms(now),
            },
            "$inc": {"lockouts": 1},
        },
    )
    return until


async def clear_failures(db: Database, key: str) -> None:
    """A successful login forgets the account's failures (its backoff level too)."""
    await db.login_attempts.delete_one({"_id": key})


# --- persisted operations ------------------------------------------------------------


async def find_persisted(db: Database, sha256: str, safelisted_only: bool) -> Document | None:
    query: dict[str, Any] = {"_id": sha256}
    if safelisted_only:
        query["kind"] = SAFELIST
    return await db.persisted_operations.find_one(query)


async def store_apq(db: Database, sha256: str, query: str) -> None:
    """Register an automatic persisted query (never downgrades a safelisted one)."""
    now = utcnow()
    await db.persisted_operations.update_one(
        {"_id": sha256},
        {
            "$setOnInsert": {
                "query": query,
                "kind": APQ,
                "operation_names": [],
                "created_at": now,
                "expires_at": now + APQ_TTL,
            }
        },
        upsert=True,
    )


async def store_safelisted(
    db: Database, sha256: str, query: str, operation_names: list[str], source: str
) -> None:
    """Put an operation on the safelist (idempotent; also promotes an APQ entry)."""
    await db.persisted_operations.update_one(
        {"_id": sha256},
        {
            "$set": {
                "query": query,
                "kind": SAFELIST,
                "source": source,
                "operation_names": operation_names,
            },
            "$setOnInsert": {"created_at": utcnow()},
            "$unset": {"expires_at": ""},
        },
        upsert=True,
    )
