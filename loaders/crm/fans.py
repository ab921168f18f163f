"""Fans: create, match by contact, update, delete; fans by id and the nested per-fan pages
(tickets, activities, point totals), one query for all parents of a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    _after_filter,
    check_first,
    conjoin,
    decode_cursor,
    encode_cursor,
    in_key_order,
    match_stage,
    utcnow,
)
from loaders.crm.common import ACTIVITY_SORT, TICKET_SORT, to_ms
from loaders.crm.search_fields import birth_day_update, precomputed_fields
from loaders.crm.tags_sync import drop_fan_tags, reconcile_fan_tags, tag_rows
from loaders.crm.text_search import refresh_text_grams, text_fields, touches_text

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
        "metro_area": "", "networks": [], "idol_names": [], "rating": 0, "ip_address": "",
        "created_at": now, "created_ms": to_ms(now), "updated_ms": to_ms(now),
    }  # fmt: skip
    doc.update({k: v for k, v in fields.items() if v is not None})
    doc["created_ms"] = to_ms(doc["created_at"])
    doc["name_lower"] = name_lower(doc)
    doc.update(text_fields(doc))
    doc.update(precomputed_fields(doc))
    return doc


def name_lower(doc: Document) -> str:
    return f"{doc.get('first_name', '')} {doc.get('last_name', '')}".strip().lower()


async def insert_fan(db: Database, doc: Document) -> Document:
    """Insert a fan (and its `fan_tags` rows); a taken email or phone raises DuplicateKeyError."""
    await db.fans.insert_one(doc)
    if doc.get("tags"):
        await db.fan_tags.insert_many(tag_rows(doc, int(doc["created_ms"])), ordered=False)
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
    sets, unsets = {**sets}, list(unsets)
    if "birth_date" in sets or "birth_date" in unsets:  # the age filter's `birth_day`
        day_set, day_unset = birth_day_update(str(sets.get("birth_date") or ""))
        sets.update(day_set)
        unsets += day_unset
    update: Document = {"$set": {**sets, "updated_ms": to_ms(utcnow())}}
    if unsets:
        update["$unset"] = {k: "" for k in unsets}
    # update_one, not find_one_and_update: on the embedded store the latter swallows a
    # unique-index violation and returns None instead of raising DuplicateKeyError.
    query = {**scope.tenant(), "_id": fan_id}
    result = await db.fans.update_one(query, update)
    doc = await db.fans.find_one(query) if result.matched_count else None
    if doc is not None and "tags" in sets:
        await reconcile_fan_tags(db, doc)
    if doc is not None and touches_text({*sets, *unsets}):
        doc = await refresh_text_grams(db, doc)
    return doc


async def delete_fan(db: Database, scope: Scope, fan_id: str) -> bool:
    """Delete a fan with its activities and point awards; its tickets stay as sales records."""
    fan = await db.fans.find_one_and_delete({**scope.tenant(), "_id": fan_id})
    if fan is None:
        return False
    owned = {"partner_id": fan["partner_id"], "fan_id": fan_id}
    await db.fan_activities.delete_many(owned)
    await db.fan_point_awards.delete_many(owned)
    await drop_fan_tags(db, fan["partner_id"], fan_id)
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
    """Pages of a child list for many parents: one aggregation per distinct (first, after).

    The store sorts the parents' children by parent then child order, groups them per parent
    and keeps each parent's first `first + 1` (`$push` + `$slice`, as `WatchHistoryLoader`;
    `$topN` is ignored by the embedded store), so what travels grows with the page, not with
    a parent's whole list. The extra row tells whether a next page exists.
    """

    collection = ""
    sort: list[tuple[str, int]] = []
    extra: dict[str, Any] = {}
    count_loader: type[_CountByFanLoader] = _CountByFanLoader

    async def load_batch(self, keys: list[ChildKey]) -> list[Page]:
        pages: dict[ChildKey, Page] = {}
        groups: dict[tuple[int, str | None], list[str]] = {}
        for parent, first, after in keys:
            parents = groups.setdefault((first, after), [])
            if parent not in parents:
                parents.append(parent)
        for (first, after), parents in groups.items():
            limit = check_first(first)
            query = conjoin(self.scope.tenant(), self.extra, {"fan_id": {"$in": parents}})
            if after is not None:
                query = conjoin(
                    query, _after_filter(self.sort, decode_cursor(after, len(self.sort)))
                )
            cursor = await self.db[self.collection].aggregate(
                [
                    match_stage(query),
                    {"$sort": {"fan_id": 1, **dict(self.sort)}},
                    {"$group": {"_id": "$fan_id", "rows": {"$push": "$$ROOT"}}},
                    {"$project": {"rows": {"$slice": ["$rows", limit + 1]}}},
                ]
            )
            heads = {row["_id"]: row["rows"] for row in await cursor.to_list(None)}
            for parent in parents:
                pages[(parent, first, after)] = self._page(parent, heads.get(parent, []), limit)
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
