"""Fan CRM data access: fans, tickets, ticket events, activities, point awards.

Every query starts from the caller's tenant filter. Embedded-store rules this module
follows (see README, CRM section): timestamps that change after insert (`updated_ms`,
`first_purchase_ms`) are epoch-milliseconds integers, because `$set`/`$min` of a
datetime on an existing document comes back as a string there; aggregations group by one
string field (a compound `$group` `_id` is taken literally there); a DuplicateKeyError
does not say which index fired, so conflicts are re-queried to name the field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from gateway.core.errors import Conflict
from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import (
    IndexSpec,
    Page,
    Scope,
    ScopedLoader,
    _after_filter,
    check_first,
    conjoin,
    decode_cursor,
    encode_cursor,
    grouped_by,
    in_key_order,
    match_stage,
    paginate,
    utcnow,
)

_STRING = {"$type": "string"}

INDEXES = [
    # A fan is unique per partner by email and by phone; fans without one are not indexed.
    IndexSpec("fans", [("partner_id", 1), ("email", 1)], unique=True, partial={"email": _STRING},
              name="fans_partner_email_unique"),
    IndexSpec("fans", [("partner_id", 1), ("phone", 1)], unique=True, partial={"phone": _STRING},
              name="fans_partner_phone_unique"),
    IndexSpec("fans", [("partner_id", 1), ("created_ms", -1), ("_id", -1)]),
    IndexSpec("fans", [("partner_id", 1), ("created_at", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("tags", 1)]),
    IndexSpec("tickets", [("partner_id", 1), ("ticket_key", 1)], unique=True,
              partial={"ticket_key": _STRING}, name="tickets_partner_key_unique"),
    IndexSpec("tickets", [("partner_id", 1), ("seq", 1), ("_id", 1)]),
    IndexSpec("tickets", [("partner_id", 1), ("fan_id", 1), ("seq", 1)]),
    IndexSpec("tickets", [("partner_id", 1), ("purchased_at", 1)]),
    IndexSpec("tickets", [("partner_id", 1), ("event_name", 1), ("purchased_at", 1)]),
    IndexSpec("tickets", [("partner_id", 1), ("email", 1)]),
    IndexSpec("ticket_events", [("partner_id", 1), ("network", 1), ("event_key", 1)], unique=True,
              name="ticket_events_partner_network_key_unique"),
    IndexSpec("ticket_events", [("partner_id", 1), ("event_date", 1), ("_id", 1)]),
    IndexSpec("fan_activities", [("partner_id", 1), ("seq", 1), ("_id", 1)]),
    IndexSpec("fan_activities", [("partner_id", 1), ("fan_id", 1), ("seq", 1)]),
    IndexSpec("fan_activities", [("partner_id", 1), ("campaign_title", 1), ("seq", 1)]),
    IndexSpec("fan_point_awards", [("partner_id", 1), ("award_key", 1)], unique=True,
              partial={"award_key": _STRING}, name="fan_point_awards_partner_key_unique"),
    IndexSpec("fan_point_awards", [("partner_id", 1), ("fan_id", 1)]),
    IndexSpec("fan_point_awards", [("partner_id", 1), ("point_name", 1), ("day", 1)]),
]  # fmt: skip

TICKET_SORT: list[tuple[str, int]] = [("seq", 1), ("_id", 1)]
ACTIVITY_SORT: list[tuple[str, int]] = [("seq", 1), ("_id", 1)]
# Keyset paging sorts on integers: the embedded store compares datetimes at whole seconds
# in filters but sorts them at milliseconds, so a datetime cursor skips rows.
FAN_SORT: list[tuple[str, int]] = [("created_ms", -1), ("_id", -1)]


# --- time helpers ----------------------------------------------------------------------


def to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def from_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def date_range(lo: date | None, hi: date | None) -> dict[str, datetime]:
    """Inclusive calendar-day range as a half-open datetime range (UTC days)."""
    out: dict[str, datetime] = {}
    if lo is not None:
        out["$gte"] = day_start(lo)
    if hi is not None:
        out["$lt"] = day_start(hi) + timedelta(days=1)
    return out


async def next_seq(db: Database, partner_id: str, name: str, count: int = 1) -> int:
    """Reserve `count` sequence numbers for a partner; returns the first of them.

    One atomic `$inc` per batch, so numbers only grow (gaps appear when an insert loses a race).
    """
    doc = await db.crm_counters.find_one_and_update(
        {"_id": f"{partner_id}:{name}"},
        {"$inc": {"seq": count}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:  # cannot happen with upsert + AFTER; keeps the type honest
        raise RuntimeError("counter upsert returned nothing")
    return int(doc["seq"]) - count + 1


# --- fans ------------------------------------------------------------------------------


def new_fan_doc(partner_id: str, fields: Document, now: datetime | None = None) -> Document:
    """A complete fan document: every list/map present, optional contact keys absent when unset."""
    now = now or utcnow()
    doc: Document = {
        "_id": new_id("fan"),
        "partner_id": partner_id,
        "first_name": "", "last_name": "", "display_name": "", "gender": "", "birth_date": "",
        "is_subscribed": False, "is_phone_subscribed": False, "is_optout": False,
        "business_opt_ins": [], "tags": [], "fields": {},
        "country_code": "", "province": "", "city": "", "postal_code": "", "source": "",
        "created_at": now, "created_ms": to_ms(now), "updated_ms": to_ms(now),
    }  # fmt: skip
    doc.update({k: v for k, v in fields.items() if v is not None})
    doc["created_ms"] = to_ms(doc["created_at"])
    doc["name_lower"] = name_lower(doc)
    return doc


def name_lower(doc: Document) -> str:
    return f"{doc.get('first_name', '')} {doc.get('last_name', '')}".strip().lower()


async def insert_fan(db: Database, doc: Document) -> Document:
    """Insert a fan; a taken email or phone raises DuplicateKeyError."""
    await db.fans.insert_one(doc)
    return doc


async def conflicting_contact(
    db: Database, partner_id: str, email: str | None, phone: str | None, except_id: str = ""
) -> str | None:
    """Which contact field ("email" / "phone") another fan of the partner already uses."""
    if email and await db.fans.find_one(
        {"partner_id": partner_id, "email": email, "_id": {"$ne": except_id}}, {"_id": 1}
    ):
        return "email"
    if phone and await db.fans.find_one(
        {"partner_id": partner_id, "phone": phone, "_id": {"$ne": except_id}}, {"_id": 1}
    ):
        return "phone"
    return None


async def find_fan(db: Database, scope: Scope, fan_id: str) -> Document | None:
    return await db.fans.find_one({**scope.tenant(), "_id": fan_id})


async def find_fan_by_email(db: Database, partner_id: str, email: str) -> Document | None:
    return await db.fans.find_one({"partner_id": partner_id, "email": email})


async def update_fan(
    db: Database, scope: Scope, fan_id: str, sets: Document, unsets: Sequence[str]
) -> Document | None:
    """Apply a partial update; a taken email or phone raises DuplicateKeyError."""
    update: Document = {"$set": {**sets, "updated_ms": to_ms(utcnow())}}
    if unsets:
        update["$unset"] = {k: "" for k in unsets}
    # update_one, not find_one_and_update: on the embedded store the latter swallows a
    # unique-index violation and returns None instead of raising DuplicateKeyError.
    query = {**scope.tenant(), "_id": fan_id}
    result = await db.fans.update_one(query, update)
    return await db.fans.find_one(query) if result.matched_count else None


async def delete_fan(db: Database, scope: Scope, fan_id: str) -> bool:
    """Delete a fan with its activities and point awards; its tickets stay as sales records."""
    fan = await db.fans.find_one_and_delete({**scope.tenant(), "_id": fan_id})
    if fan is None:
        return False
    owned = {"partner_id": fan["partner_id"], "fan_id": fan_id}
    await db.fan_activities.delete_many(owned)
    await db.fan_point_awards.delete_many(owned)
    return True


async def fan_ids_of_tickets(db: Database, query: dict[str, Any]) -> set[str]:
    """Buyers of the matching tickets.

    A `find` with a projection rather than `distinct`: the embedded store's `distinct`
    ignores a filter that contains `$in`.
    """
    rows = await db.tickets.find(query, projection={"fan_id": 1, "_id": 0}).to_list(None)
    return {row["fan_id"] for row in rows}


def _escape_regex(text: str) -> str:
    return "".join("\\" + c if c in r"\.^$|?*+()[]{}" else c for c in text)


class FanByIdLoader(ScopedLoader[str, Document | None]):
    """Fans by id within the caller's tenant (another tenant's fan loads as None)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        rows = await self.db.fans.find({**self.scope.tenant(), "_id": {"$in": keys}}).to_list(None)
        return in_key_order(keys, rows)


# --- nested pages (one query for all parents of a page) --------------------------------

ChildKey = tuple[str, int, str | None]  # (parent id, first, after)


class _CountByFanLoader(ScopedLoader[str, int]):
    collection = ""
    extra: dict[str, Any] = {}

    async def load_batch(self, keys: list[str]) -> list[int]:
        match = {**self.scope.tenant(), **self.extra, "fan_id": {"$in": keys}}
        cursor = await self.db[self.collection].aggregate(
            [match_stage(match), {"$group": {"_id": "$fan_id", "n": {"$sum": 1}}}]
        )
        counts = {row["_id"]: int(row["n"]) for row in await cursor.to_list(None)}
        return [counts.get(k, 0) for k in keys]


class _ChildPageLoader(ScopedLoader[ChildKey, Page]):
    """Pages of a child list for many parents: one `find` per distinct (first, after).

    Reads every child of the requested parents (nested lists are short: a fan's own
    tickets or activities); top-level lists use `paginate` with a limit.
    """

    collection = ""
    sort: list[tuple[str, int]] = []
    extra: dict[str, Any] = {}
    count_loader: type[_CountByFanLoader] = _CountByFanLoader

    async def load_batch(self, keys: list[ChildKey]) -> list[Page]:
        pages: dict[ChildKey, Page] = {}
        groups: dict[tuple[int, str | None], list[str]] = {}
        for parent, first, after in keys:
            groups.setdefault((first, after), []).append(parent)
        for (first, after), parents in groups.items():
            limit = check_first(first)
            query: dict[str, Any] = {**self.scope.tenant(), **self.extra,
                                     "fan_id": {"$in": parents}}  # fmt: skip
            if after is not None:
                query = conjoin(
                    query, _after_filter(self.sort, decode_cursor(after, len(self.sort)))
                )
            rows = (
                await self.db[self.collection]
                .find(query, sort=[("fan_id", 1), *self.sort])
                .to_list(None)
            )
            for parent, children in zip(parents, grouped_by(parents, rows, "fan_id"), strict=True):
                pages[(parent, first, after)] = self._page(parent, children, limit)
        return [pages[k] for k in keys]

    def _page(self, parent: str, children: list[Document], limit: int) -> Page:
        shown = children[:limit]
        counter = self.registry.get(self.count_loader)

        async def count() -> int:
            return await counter.load(parent)

        return Page(
            rows=shown,
            cursors=[encode_cursor([row[f] for f, _ in self.sort]) for row in shown],
            has_next_page=len(children) > limit,
            count=count,
        )


class TicketCountByFanLoader(_CountByFanLoader):
    """Number of (not deleted) tickets per fan."""

    collection = "tickets"
    extra = {"is_deleted": False}


class TicketPageByFanLoader(_ChildPageLoader):
    """A page of each fan's tickets (not deleted), in ticket order."""

    collection = "tickets"
    sort = TICKET_SORT
    extra = {"is_deleted": False}
    count_loader = TicketCountByFanLoader


class ActivityCountByFanLoader(_CountByFanLoader):
    """Number of activities per fan."""

    collection = "fan_activities"


class ActivityPageByFanLoader(_ChildPageLoader):
    """A page of each fan's activities, in activity order."""

    collection = "fan_activities"
    sort = ACTIVITY_SORT
    count_loader = ActivityCountByFanLoader


class PointTotalsByFanLoader(ScopedLoader[str, list[tuple[str, int]]]):
    """Per-point-name totals of each fan: one aggregation for all fans asked for."""

    async def load_batch(self, keys: list[str]) -> list[list[tuple[str, int]]]:
        match = {**self.scope.tenant(), "fan_id": {"$in": keys}}
        # Grouped by one string field: the embedded store takes a compound `_id` literally.
        cursor = await self.db.fan_point_awards.aggregate(
            [match_stage(match), {"$group": {"_id": "$fan_point", "total": {"$sum": "$count"}}}]
        )
        totals: dict[str, list[tuple[str, int]]] = {k: [] for k in keys}
        for row in await cursor.to_list(None):
            fan_id, _, point_name = str(row["_id"]).partition("|")
            if fan_id in totals:
                totals[fan_id].append((point_name, int(row["total"])))
        return [sorted(totals[k]) for k in keys]


# --- tickets ---------------------------------------------------------------------------


class TicketByIdLoader(ScopedLoader[str, Document | None]):
    """Tickets by id within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        rows = await self.db.tickets.find({**self.scope.tenant(), "_id": {"$in": keys}}).to_list(
            None
        )
        return in_key_order(keys, rows)


async def list_tickets(db: Database, scope: Scope, filters: Document, first: int | None,
                       after: str | None) -> Page:  # fmt: skip
    query: dict[str, Any] = {**scope.tenant()}
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
            new[d["email"]] = new_fan_doc(partner_id, d["fan"], now)
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
    claimed = await _claim_ticket_keys(db, partner_id, sorted(first_with_key))
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
        # Nothing of this request is stored under its claims: let the keys be claimed again.
        await db.ticket_claims.delete_many(
            {"_id": {"$in": [_claim_id(partner_id, k) for k in claimed]}}
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


async def _claim_ticket_keys(db: Database, partner_id: str, keys: list[str]) -> set[str]:
    """Claim ticket keys for this request (one insert); the keys it won.

    A claim is kept after its ticket is stored (deleting it would let a late racer claim
    the key again and create its fan before the ticket index refused it). A claim left by
    a request that died before storing its ticket is taken over once it is stale.
    """
    if not keys:
        return set()
    now = to_ms(utcnow())
    docs = [{"_id": _claim_id(partner_id, k), "partner_id": partner_id, "ticket_key": k,
             "at_ms": now} for k in keys]  # fmt: skip
    failed: set[int] = set()
    try:
        await db.ticket_claims.insert_many(docs, ordered=False)
    except BulkWriteError as e:
        failed = _duplicate_indexes(e)
    return {k for i, k in enumerate(keys) if i not in failed}


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


# --- activities ------------------------------------------------------------------------


async def insert_activity(
    db: Database, partner_id: str, fan_id: str, campaign_title: str, props: Document
) -> Document:
    now = utcnow()
    doc: Document = {
        "_id": new_id("fac"), "partner_id": partner_id,
        "seq": await next_seq(db, partner_id, "activities"), "fan_id": fan_id,
        "campaign_title": campaign_title, "props": props, "day": now.date().isoformat(),
        "created_at": now,
    }  # fmt: skip
    await db.fan_activities.insert_one(doc)
    # Pre-computed for the fan search (active days / dates) and its `lastCampaignTitle`.
    await db.fans.update_one(
        {"partner_id": partner_id, "_id": fan_id},
        {"$max": {"last_active_ms": to_ms(now)}, "$set": {"last_campaign_title": campaign_title}},
    )
    return doc


async def list_activities(db: Database, scope: Scope, filters: Document, first: int | None,
                          after: str | None) -> Page:  # fmt: skip
    query: dict[str, Any] = {**scope.tenant()}
    if filters.get("campaign_title"):
        query["campaign_title"] = filters["campaign_title"]
    if filters.get("day"):
        query["day"] = filters["day"]
    if filters.get("fan_id"):
        query["fan_id"] = filters["fan_id"]
    return await paginate(db.fan_activities, query, sort=ACTIVITY_SORT, first=first, after=after)


# --- points ----------------------------------------------------------------------------


async def leaderboard(
    db: Database, partner_id: str, point_name: str, lo: date | None, hi: date | None, limit: int
) -> list[tuple[str, int]]:
    """Top fans by points of one name in a day range: [(fan id, total)], best first."""
    match: dict[str, Any] = {"partner_id": partner_id, "point_name": point_name}
    days: dict[str, str] = {}
    if lo is not None:
        days["$gte"] = lo.isoformat()
    if hi is not None:
        days["$lte"] = hi.isoformat()
    if days:
        match["day"] = days  # day strings, not datetimes: see module docstring
    cursor = await db.fan_point_awards.aggregate(
        [
            match_stage(match),
            {"$group": {"_id": "$fan_id", "total": {"$sum": "$count"}}},
            {"$sort": {"total": -1, "_id": 1}},
            {"$limit": limit},
        ]
    )
    return [(row["_id"], int(row["total"])) for row in await cursor.to_list(None)]
