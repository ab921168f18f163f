"""Tickets (created with their buyer matched or created, racing duplicates decided by a key
claim), ticket stats, and ticket events.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from gateway.core.errors import Conflict
from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    in_key_order,
    paginate,
    utcnow,
)
from loaders.crm.common import TICKET_SORT, date_range, day_start, next_seq, to_ms
from loaders.crm.fans import fan_ids_of_tickets, find_fan_by_email, new_fan_doc

# --- tickets ---------------------------------------------------------------------------


class TicketByIdLoader(ScopedLoader[str, Document | None]):
    """Tickets by id within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        rows = await self.db.tickets.find({**self.scope.tenant(), "_id": {"$in": keys}}).to_list(
            None
        )
        return in_key_order(keys, rows)


def ticket_conditions(filters: Document) -> dict[str, Any]:
    """The ticket list filters (shared by `tickets` and the seed's sync, `tickets_sync`)."""
    query: dict[str, Any] = {}
    if not filters.get("include_deleted"):
        query["is_deleted"] = False
    purchased = date_range(filters.get("min_purchase_date"), filters.get("max_purchase_date"))
    if purchased:
        query["purchased_at"] = purchased
    updated = date_range(filters.get("min_last_update_date"), filters.get("max_last_update_date"))
    if updated:
        query["updated_ms"] = {op: to_ms(v) for op, v in updated.items()}
    if filters.get("email"):
        query["email"] = filters["email"]
    if filters.get("fan_id"):
        query["fan_id"] = filters["fan_id"]
    return query


async def list_tickets(db: Database, scope: Scope, filters: Document, first: int | None,
                       after: str | None) -> Page:  # fmt: skip
    query = {**scope.tenant(), **ticket_conditions(filters)}
    return await paginate(db.tickets, query, sort=TICKET_SORT, first=first, after=after)


async def _fans_for_buyers(
    db: Database, partner_id: str, drafts: Sequence[Document], now: datetime
) -> dict[str, Document]:
    """The fan of every buyer email: the partner's existing fan, or a new one."""
    emails = sorted({d["email"] for d in drafts})
    found = await db.fans.find({"partner_id": partner_id, "email": {"$in": emails}}).to_list(None)
    fans = {f["email"]: f for f in found}
    new: dict[str, Document] = {}
    for d in drafts:
        if d["email"] not in fans and d["email"] not in new:
            new[d["email"]] = new_fan_doc(partner_id, {**d["fan"], **metro_of(d)}, now)
    if not new:
        return fans
    docs = list(new.values())
    failed: set[int] = set()
    try:
        await db.fans.insert_many(docs, ordered=False)
    except BulkWriteError as e:
        failed = _duplicate_indexes(e)
    for i, doc in enumerate(docs):
        if i not in failed:
            fans[doc["email"]] = doc
            continue
        # Lost a race for the email (use the winner's fan) or the phone is someone else's.
        fans[doc["email"]] = await _fan_without_phone(db, partner_id, doc)
    return fans


async def _fan_without_phone(db: Database, partner_id: str, doc: Document) -> Document:
    existing = await find_fan_by_email(db, partner_id, doc["email"])
    if existing is not None:
        return existing
    doc = {k: v for k, v in doc.items() if k != "phone"}
    try:
        await db.fans.insert_one(doc)
    except DuplicateKeyError:
        existing = await find_fan_by_email(db, partner_id, doc["email"])
        if existing is None:
            raise
        return existing
    return doc


def _duplicate_indexes(error: BulkWriteError) -> set[int]:
    failed: set[int] = set()
    for w in error.details.get("writeErrors", []):
        if w.get("code") != 11000:
            raise error
        failed.add(int(w["index"]))
    return failed


async def create_tickets(
    db: Database, partner_id: str, drafts: Sequence[Document]
) -> list[tuple[str, Document]]:
    """Insert validated ticket drafts; one `(status, ticket)` per draft, in order.

    A `ticket_key` already stored (or earlier in the same batch, or claimed by a racing
    request) yields ("DUPLICATE", existing ticket) and writes nothing. Buyers are matched
    to fans by email, or a fan is created, after the ticket keys are claimed
    (`_claim_ticket_keys`): the claim decides a race before anything else is written, so a
    duplicate never leaves a fan behind, and a ticket is stored after its fan, so nobody
    (an event subscriber included) reads a ticket whose fan does not exist yet.
    """
    now = utcnow()
    keys = sorted({d["ticket_key"] for d in drafts if d.get("ticket_key")})
    existing: dict[str, Document] = {}
    if keys:
        rows = await db.tickets.find(
            {"partner_id": partner_id, "ticket_key": {"$in": keys}}
        ).to_list(None)
        existing = {t["ticket_key"]: t for t in rows}
    first_with_key: dict[str, int] = {}
    for i, d in enumerate(drafts):
        key = d.get("ticket_key")
        if key and key not in existing and key not in first_with_key:
            first_with_key[key] = i
    claimed = await _claim_ticket_keys(
        db, partner_id, {k: drafts[i] for k, i in first_with_key.items()}
    )
    lost = sorted(set(first_with_key) - claimed)
    if lost:
        existing.update(await _claimed_tickets(db, partner_id, lost))
    fresh = [
        i
        for i, d in enumerate(drafts)
        if not d.get("ticket_key")
        or (first_with_key.get(d["ticket_key"]) == i and d["ticket_key"] in claimed)
    ]
    try:
        return await _store_tickets(db, partner_id, drafts, fresh, existing, first_with_key, now)
    except Exception:
        # Let the keys whose ticket is not stored be claimed again. A failed insert may have
        # been applied all the same (the store went away before its reply; found by
        # tests/test_crm_write_faults.py): those tickets keep their claims.
        stored = await db.tickets.find(
            {"partner_id": partner_id, "ticket_key": {"$in": sorted(claimed)}},
            projection={"ticket_key": 1},
        ).to_list(None)
        free = sorted(claimed - {t["ticket_key"] for t in stored})
        if free:
            await db.ticket_claims.delete_many(
                {"_id": {"$in": [_claim_id(partner_id, k) for k in free]}}
            )
        raise


async def _store_tickets(
    db: Database, partner_id: str, drafts: Sequence[Document], fresh: list[int],
    existing: dict[str, Document], first_with_key: dict[str, int], now: datetime,
) -> list[tuple[str, Document]]:  # fmt: skip
    docs: list[Document] = []
    if fresh:
        fans = await _fans_for_buyers(db, partner_id, [drafts[i] for i in fresh], now)
        seq = await next_seq(db, partner_id, "tickets", len(fresh))
        for n, i in enumerate(fresh):
            d = {k: v for k, v in drafts[i].items() if k != "fan"}
            doc: Document = {"_id": new_id("tkt"), "partner_id": partner_id, "seq": seq + n,
                             **d, "fan_id": fans[d["email"]]["_id"], "created_at": now,
                             "updated_ms": to_ms(now)}  # fmt: skip
            if not doc.get("ticket_key"):
                doc.pop("ticket_key", None)
            docs.append(doc)
    failed: set[int] = set()
    if docs:
        try:
            await db.tickets.insert_many(docs, ordered=False)
        except BulkWriteError as e:
            failed = _duplicate_indexes(e)
    if failed:
        lost = [docs[j]["ticket_key"] for j in failed if docs[j].get("ticket_key")]
        rows = await db.tickets.find(
            {"partner_id": partner_id, "ticket_key": {"$in": lost}}
        ).to_list(None)
        existing.update({t["ticket_key"]: t for t in rows})
    inserted = [doc for j, doc in enumerate(docs) if j not in failed]
    inserted_ids = {doc["_id"] for doc in inserted}
    await _note_first_purchases(db, inserted)
    await _note_metro_areas(db, inserted)
    by_index = dict(zip(fresh, docs, strict=True))
    results: list[tuple[str, Document]] = []
    for i, d in enumerate(drafts):
        key = d.get("ticket_key")
        doc_or_none = by_index.get(i)
        if doc_or_none is not None and doc_or_none["_id"] in inserted_ids:
            results.append(("SUCCESS", doc_or_none))
        elif key and key in existing:
            results.append(("DUPLICATE", existing[key]))
        else:
            results.append(("DUPLICATE", by_index[first_with_key[key]] if key else {}))
    return results


CLAIM_WAIT_SECONDS = 5.0
CLAIM_STALE_MS = 60_000


def _claim_id(partner_id: str, ticket_key: str) -> str:
    return f"{partner_id}:{ticket_key}"


async def _claim_ticket_keys(
    db: Database, partner_id: str, drafts_by_key: dict[str, Document]
) -> set[str]:
    """Claim ticket keys for this request (one insert); the keys it won.

    A claim is kept after its ticket is stored (deleting it would let a late racer claim
    the key again and create its fan before the ticket index refused it). A claim left by
    a request that died before storing its ticket is taken over once it is stale, or at
    once by a request for the very same ticket (same key and content): that is a retry of
    an attempt whose answer was lost (a store outage, tests/test_crm_write_faults.py), and
    two identical requests racing need no claim between them, since they match or create
    the same fan by email and the tickets' unique index keeps one ticket.
    """
    if not drafts_by_key:
        return set()
    keys = sorted(drafts_by_key)
    now = to_ms(utcnow())
    docs = [{"_id": _claim_id(partner_id, k), "partner_id": partner_id, "ticket_key": k,
             "draft": _draft_fingerprint(drafts_by_key[k]), "at_ms": now}
            for k in keys]  # fmt: skip
    failed: set[int] = set()
    try:
        await db.ticket_claims.insert_many(docs, ordered=False)
    except BulkWriteError as e:
        failed = _duplicate_indexes(e)
    if failed:
        held = await db.ticket_claims.find(
            {"_id": {"$in": [docs[i]["_id"] for i in sorted(failed)]}},
            projection={"draft": 1},
        ).to_list(None)
        held_drafts = {c["_id"]: c.get("draft") for c in held}
        same = {d["_id"] for d in docs if held_drafts.get(d["_id"]) == d["draft"]}
        failed = {i for i in failed if docs[i]["_id"] not in same}
    return {k for i, k in enumerate(keys) if i not in failed}


def _draft_fingerprint(draft: Document) -> str:
    return hashlib.sha256(orjson.dumps(draft, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


async def _claimed_tickets(db: Database, partner_id: str, keys: list[str]) -> dict[str, Document]:
    """The tickets of keys claimed by other requests, waiting briefly for them to be stored."""
    deadline = asyncio.get_running_loop().time() + CLAIM_WAIT_SECONDS
    found: dict[str, Document] = {}
    while True:
        missing = [k for k in keys if k not in found]
        rows = await db.tickets.find(
            {"partner_id": partner_id, "ticket_key": {"$in": missing}}
        ).to_list(None)
        found.update({t["ticket_key"]: t for t in rows})
        if len(found) == len(keys):
            return found
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    stale = to_ms(utcnow()) - CLAIM_STALE_MS
    released = await db.ticket_claims.delete_many(
        {"_id": {"$in": [_claim_id(partner_id, k) for k in keys if k not in found]},
         "at_ms": {"$lt": stale}}
    )  # fmt: skip
    raise Conflict(
        "another request is storing a ticket with this ticketKey; retry"
        if not released.deleted_count
        else "a stale claim on this ticketKey was released; retry",
        field="ticketKey",
    )


async def _note_first_purchases(db: Database, tickets: Sequence[Document]) -> None:
    # The fan's first purchase (epoch ms) makes new-vs-returning stats one cheap lookup.
    earliest: dict[str, int] = {}
    for t in tickets:
        if not t["is_deleted"]:
            ms = to_ms(t["purchased_at"])
            earliest[t["fan_id"]] = min(ms, earliest.get(t["fan_id"], ms))
    if earliest:
        await db.fans.bulk_write(
            [UpdateOne({"_id": f}, {"$min": {"first_purchase_ms": ms}}) for f, ms in
             earliest.items()], ordered=False,
        )  # fmt: skip


METRO_COUNTRIES = ("US", "CA", "")


def metro_of(ticket: Document) -> Document:
    """The fan fields a ticket gives its buyer: its metro area (the seed: "DMA or CMA Area,
    currently only for US/CA"), when it has one and its country is the US, Canada or unset."""
    metro = str(ticket.get("metro_area") or "")
    if metro and str(ticket.get("country_code") or "") in METRO_COUNTRIES:
        return {"metro_area": metro}
    return {}


async def _note_metro_areas(db: Database, tickets: Sequence[Document]) -> None:
    # A buyer without a metro area takes its latest ticket's (the fan's own value wins), so
    # the fan search's metroAreas filter and Fan.metroArea see it; one batched write.
    latest: dict[str, tuple[int, str]] = {}
    for t in tickets:
        metro = metro_of(t).get("metro_area")
        if metro and not t["is_deleted"]:
            ms = to_ms(t["purchased_at"])
            if t["fan_id"] not in latest or ms >= latest[t["fan_id"]][0]:
                latest[t["fan_id"]] = (ms, metro)
    if latest:
        await db.fans.bulk_write(
            [UpdateOne({"_id": f, "metro_area": ""}, {"$set": {"metro_area": metro}})
             for f, (_, metro) in latest.items()], ordered=False,
        )  # fmt: skip


# --- ticket stats ----------------------------------------------------------------------


def stats_ticket_query(partner_id: str, filters: Document) -> dict[str, Any]:
    query: dict[str, Any] = {"partner_id": partner_id, "is_deleted": False}
    for name in ("event_name", "event_key", "event_date", "venue_name", "artist_name"):
        if filters.get(name):
            query[name] = filters[name]
    return query


async def ticket_stats(
    db: Database, partner_id: str, lo: date, hi: date, filters: Document, event_specific: bool
) -> Document:
    """Sales, seats, revenue per currency and new/returning fans of a purchase window.

    New: the fan's first purchase (all tickets of the partner, or only those matching the
    event filters when `event_specific`) falls inside the window. Returning: the fan bought
    inside the window and also before it.
    """
    base = stats_ticket_query(partner_id, filters)
    window = await db.tickets.find(
        {**base, "purchased_at": date_range(lo, hi)},
        projection={"fan_id": 1, "paid_amount": 1, "currency": 1, "num_seats": 1},
    ).to_list(None)
    revenue: dict[str, int] = {}
    for t in window:
        revenue[t["currency"]] = revenue.get(t["currency"], 0) + int(t["paid_amount"])
    buyers = sorted({t["fan_id"] for t in window})
    start_ms = to_ms(day_start(lo))
    returning: set[str] = set()
    if buyers and event_specific:
        earlier = {**base, "fan_id": {"$in": buyers}, "purchased_at": {"$lt": day_start(lo)}}
        returning = await fan_ids_of_tickets(db, earlier)
    elif buyers:
        fans = await db.fans.find(
            {"partner_id": partner_id, "_id": {"$in": buyers}},
            projection={"first_purchase_ms": 1},
        ).to_list(None)
        known = {f["_id"]: f.get("first_purchase_ms") for f in fans}
        returning = {f for f, ms in known.items() if ms is not None and ms < start_ms}
        gone = [f for f in buyers if f not in known]
        if gone:  # deleted fans: fall back to their tickets
            earlier = {"partner_id": partner_id, "is_deleted": False, "fan_id": {"$in": gone},
                       "purchased_at": {"$lt": day_start(lo)}}  # fmt: skip
            returning |= await fan_ids_of_tickets(db, earlier)
    return {
        "returning_fans_count": len(returning),
        "new_fans_count": len(buyers) - len(returning),
        "sales_count": len(window),
        "seats_count": sum(int(t["num_seats"]) for t in window),
        "revenue": sorted(revenue.items()),
    }


# --- ticket events ---------------------------------------------------------------------


async def insert_ticket_event(db: Database, partner_id: str, fields: Document) -> Document:
    now = utcnow()
    doc: Document = {"_id": new_id("tev"), "partner_id": partner_id, **fields,
                     "created_at": now, "updated_ms": to_ms(now)}  # fmt: skip
    await db.ticket_events.insert_one(doc)
    return doc


async def update_ticket_event(
    db: Database, scope: Scope, event_id: str, fields: Document
) -> Document | None:
    query = {**scope.tenant(), "_id": event_id}
    result = await db.ticket_events.update_one(
        query, {"$set": {**fields, "updated_ms": to_ms(utcnow())}}
    )  # update_one so a unique-index violation raises (see update_fan)
    return await db.ticket_events.find_one(query) if result.matched_count else None


async def delete_ticket_event(db: Database, scope: Scope, event_id: str) -> Document | None:
    return await db.ticket_events.find_one_and_delete({**scope.tenant(), "_id": event_id})


async def list_ticket_events(db: Database, scope: Scope, filters: Document, first: int | None,
                             after: str | None) -> Page:  # fmt: skip
    query: dict[str, Any] = {**scope.tenant()}
    for name in ("event_name", "event_key", "event_date", "venue_name", "network"):
        if filters.get(name):
            query[name] = filters[name]
    sort = [("event_date", 1), ("_id", 1)]
    return await paginate(db.ticket_events, query, sort=sort, first=first, after=after)
