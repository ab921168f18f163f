"""Members of a partner's app, its class catalogue and the members' watch history.

A member is created only by redeeming a voucher (`registerMember`), so each member
holds exactly one voucher. Watch events carry their partner, member, class, category,
an epoch-ms `ts` and a `day` bucket ("2026-03-15"): analytics aggregate over day
strings and history pages over `ts`, never over datetimes inside an aggregation
(the embedded store ignores those). Counters on the member document (`watch_minutes`,
`classes_watched`, `last_watched_ms`) make lists and exports free of per-row queries.

"Active" means watched at least once in the last ACTIVE_WINDOW_DAYS days.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

from gateway.core.errors import BadUserInput
from gateway.core.ids import new_id
from gateway.core.validation import check_printable
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
    epoch_ms,
    in_key_order,
    match_stage,
    paginate,
    utcnow,
)

INDEXES = [
    IndexSpec("members", [("partner_id", 1), ("email", 1)], unique=True),
    # One member per voucher: the member document is the commit point of a redemption.
    IndexSpec("members", [("voucher_id", 1)], unique=True),
    IndexSpec("members", [("partner_id", 1), ("created_ms", -1), ("_id", -1)]),
    IndexSpec("members", [("partner_id", 1), ("name_lower", 1), ("_id", 1)]),
    IndexSpec("members", [("partner_id", 1), ("last_watched_ms", -1), ("_id", -1)]),
    IndexSpec("members", [("partner_id", 1), ("watch_minutes", -1), ("_id", -1)]),
    IndexSpec("classes", [("partner_id", 1), ("title_lower", 1), ("_id", 1)]),
    IndexSpec("classes", [("partner_id", 1), ("category", 1), ("_id", 1)]),
    IndexSpec("watch_events", [("partner_id", 1), ("member_id", 1), ("ts", -1), ("_id", -1)]),
    IndexSpec("watch_events", [("partner_id", 1), ("day", 1)]),
]

ACTIVE_WINDOW_DAYS = 30
MIN_WATCH_MINUTES, MAX_WATCH_MINUTES = 1, 600
MEMBER_STATUSES = ("active", "inactive")
HIDDEN = {"password_hash": 0}

SORTS: dict[str, list[tuple[str, int]]] = {
    "NEWEST": [("created_ms", -1), ("_id", -1)],
    "OLDEST": [("created_ms", 1), ("_id", 1)],
    "NAME": [("name_lower", 1), ("_id", 1)],
    "WATCH_TIME": [("watch_minutes", -1), ("_id", -1)],
    "LAST_ACTIVE": [("last_watched_ms", -1), ("_id", -1)],
}


def day_of(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def active_since_ms(now: datetime) -> int:
    return epoch_ms(now - timedelta(days=ACTIVE_WINDOW_DAYS))


def member_status(doc: Document, now: datetime | None = None) -> str:
    """`active` when the member watched within the window, else `inactive`."""
    last = int(doc.get("last_watched_ms") or 0)
    return "active" if last and last >= active_since_ms(now or utcnow()) else "inactive"


def validate_name(name: str, field: str = "name", limit: int = 120) -> str:
    name = name.strip()
    if not 1 <= len(name) <= limit:
        raise BadUserInput(f"must be 1 to {limit} characters", field=field)
    return check_printable(name, field)


# --- members -------------------------------------------------------------------------


def new_member(
    partner_id: str, name: str, email: str, password_hash: str, voucher: Document,
    member_id: str | None = None, now: datetime | None = None,
) -> Document:  # fmt: skip
    now = now or utcnow()
    return {
        "_id": member_id or new_id("mem"),
        "partner_id": partner_id,
        "name": name,
        "name_lower": name.lower(),
        "email": email,
        "password_hash": password_hash,
        "voucher_id": voucher["_id"],
        "voucher_code": voucher["code"],
        "created_at": now,
        "created_ms": epoch_ms(now),
        "last_watched_ms": 0,
        "watch_minutes": 0,
        "classes_watched": 0,
    }


async def insert_member(db: Database, doc: Document) -> None:
    """Insert a member; an email taken within the partner is a DuplicateKeyError."""
    await db.members.insert_one(doc)


async def find_member_by_email(db: Database, partner_id: str, email: str) -> Document | None:
    return await db.members.find_one({"partner_id": partner_id, "email": email})


def members_query(
    scope: Scope, search: str | None, status: str | None, now: datetime
) -> dict[str, Any]:
    query: dict[str, Any] = scope.tenant()
    if search:
        fragment = search.strip().lower()
        if len(fragment) > 100:
            raise BadUserInput("at most 100 characters", field="search")
        if fragment:
            pattern = re.escape(fragment)
            either = [{"name_lower": {"$regex": pattern}}, {"email": {"$regex": pattern}}]
            query = conjoin(query, {"$or": either})
    if status == "active":
        query["last_watched_ms"] = {"$gte": active_since_ms(now)}
    elif status == "inactive":
        query["last_watched_ms"] = {"$lt": active_since_ms(now)}
    return query


async def list_members(
    db: Database, scope: Scope, search: str | None, status: str | None, sort: str,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    query = members_query(scope, search, status, utcnow())
    return await paginate(
        db.members, query, sort=SORTS[sort], first=first, after=after, projection=HIDDEN
    )


async def iter_members(db: Database, scope: Scope) -> AsyncIterator[Document]:
    """Every member of the tenant, oldest first (streamed, for exports)."""
    async for doc in db.members.find(scope.tenant(), HIDDEN, sort=SORTS["OLDEST"]):
        yield doc


class MemberByIdLoader(ScopedLoader[str, Document | None]):
    """Members by id, within the caller's tenant (password hashes never leave)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query: dict[str, Any] = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.members.find(query, HIDDEN).to_list(None)
        return in_key_order(keys, rows)


# --- classes -------------------------------------------------------------------------


class ClassByIdLoader(ScopedLoader[str, Document | None]):
    """Catalogue classes by id, within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query: dict[str, Any] = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.classes.find(query).to_list(None)
        return in_key_order(keys, rows)


def new_class(
    partner_id: str, title: str, category: str, duration_minutes: int,
    class_id: str | None = None, now: datetime | None = None,
) -> Document:  # fmt: skip
    return {
        "_id": class_id or new_id("cls"),
        "partner_id": partner_id,
        "title": title,
        "title_lower": title.lower(),
        "category": category,
        "duration_minutes": duration_minutes,
        "created_at": now or utcnow(),
    }


async def list_classes(
    db: Database, scope: Scope, category: str | None, first: int | None, after: str | None
) -> Page:
    query: dict[str, Any] = scope.tenant()
    if category is not None:
        query["category"] = category.strip()
    return await paginate(
        db.classes, query, sort=[("title_lower", 1), ("_id", 1)], first=first, after=after
    )


# --- watch events --------------------------------------------------------------------


def new_watch_event(
    member: Document, klass: Document, minutes: int, at: datetime, event_id: str | None = None
) -> Document:
    return {
        "_id": event_id or new_id("wev"),
        "partner_id": member["partner_id"],
        "member_id": member["_id"],
        "class_id": klass["_id"],
        "class_title": klass["title"],
        "category": klass["category"],
        "minutes": minutes,
        "watched_at": at,
        "ts": epoch_ms(at),
        "day": day_of(at),
    }


async def record_watch(db: Database, member: Document, klass: Document, minutes: int) -> Document:
    """Store one watch event and bump the member's counters."""
    event = new_watch_event(member, klass, minutes, utcnow())
    await db.watch_events.insert_one(event)
    await db.members.update_one(
        {"_id": member["_id"], "partner_id": member["partner_id"]},
        {
            "$inc": {"watch_minutes": minutes, "classes_watched": 1},
            "$max": {"last_watched_ms": event["ts"]},
        },
    )
    return event


HISTORY_SORT = [("ts", -1), ("_id", -1)]
HistoryKey = tuple[str, int, str | None]


class WatchHistoryLoader(ScopedLoader[HistoryKey, Page]):
    """A page of watch history per (member id, first, after): one command per distinct page.

    Keys asking for the same page (`first`, `after`) share one aggregation over
    `member_id $in …`, sorted by member and time, that groups each member's rows and keeps
    only its first `first + 1` (the extra one tells whether a next page exists). So what
    travels and is decoded grows with the page, not with a member's whole history (a
    `find` cut in code read every row: thousands of `getMore`s for long histories), and the
    command count never grows with members (the old one-`$facet`-per-batch design was
    quadratic on the embedded store and mixed up its sub-pipelines' outputs). `$topN`
    would do the cut in one accumulator, but the embedded store ignores it. The total count
    is a separate grouped count, run only when a client selects `totalCount`.
    """

    async def load_batch(self, keys: list[HistoryKey]) -> list[Page]:
        groups: dict[tuple[int, str | None], list[str]] = {}
        for member_id, first, after in keys:
            members = groups.setdefault((first, after), [])
            if member_id not in members:
                members.append(member_id)
        pages: dict[HistoryKey, Page] = {}
        counter = self.registry.get(WatchCountByMemberLoader)
        for (first, after), member_ids in groups.items():
            query = conjoin(self.scope.tenant(), {"member_id": {"$in": member_ids}})
            if after is not None:
                query = conjoin(query, _after_filter(HISTORY_SORT, decode_cursor(after, 2)))
            cursor = await self.db.watch_events.aggregate(
                [
                    match_stage(query),
                    {"$sort": {"member_id": 1, **dict(HISTORY_SORT)}},
                    {"$group": {"_id": "$member_id", "rows": {"$push": "$$ROOT"}}},
                    {"$project": {"rows": {"$slice": ["$rows", first + 1]}}},
                ]
            )
            heads = {row["_id"]: row["rows"] for row in await cursor.to_list(None)}
            for member_id in member_ids:
                events = heads.get(member_id, [])
                pages[(member_id, first, after)] = _history_page(events, first, counter, member_id)
        return [pages[k] for k in keys]


class WatchCountByMemberLoader(ScopedLoader[str, int]):
    """How many watch events each member has: one grouped count for all members asked."""

    async def load_batch(self, keys: list[str]) -> list[int]:
        cursor = await self.db.watch_events.aggregate(
            [
                match_stage(self.scope.tenant(), {"member_id": {"$in": keys}}),
                {"$group": {"_id": "$member_id", "n": {"$sum": 1}}},
            ]
        )
        counts = {row["_id"]: int(row["n"]) for row in await cursor.to_list(None)}
        return [counts.get(k, 0) for k in keys]


def _history_page(
    events: list[Document], first: int, counter: WatchCountByMemberLoader, member_id: str
) -> Page:
    async def count() -> int:
        return await counter.load(member_id)

    rows = events[:first]
    cursors = [encode_cursor([row["ts"], row["_id"]]) for row in rows]
    return Page(rows=rows, cursors=cursors, has_next_page=len(events) > first, count=count)


def history_key(member_id: str, first: int | None, after: str | None) -> HistoryKey:
    limit = check_first(first)
    if after is not None:
        decode_cursor(after, 2)  # reject foreign cursors before batching
    return (member_id, limit, after)


# --- analytics, dashboard, billing ---------------------------------------------------
# Aggregations match on `day` strings (lexicographic = chronological), never datetimes.

PERIOD_DAYS = {"WEEK": 7, "MONTH": 30, "QUARTER": 90}
MAX_RANGE_DAYS = 366
TREND_WINDOW_DAYS = 30
POPULAR_CLASSES = 10


def analytics_range(
    period: str | None, start: date | None, end: date | None, today: date
) -> tuple[date, date]:
    """The inclusive day range asked for: a period ending today, or explicit dates."""
    if period is not None and (start is not None or end is not None):
        raise BadUserInput("give a period or start and end dates, not both", field="period")
    if start is None and end is None:
        days = PERIOD_DAYS[period or "MONTH"]
        return today - timedelta(days=days - 1), today
    if start is None:
        raise BadUserInput("required with endDate", field="startDate")
    if end is None:
        raise BadUserInput("required with startDate", field="endDate")
    if end < start:
        raise BadUserInput("must not be before startDate", field="endDate")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise BadUserInput(f"at most {MAX_RANGE_DAYS} days", field="startDate")
    return start, end


def _days(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


async def analytics(db: Database, scope: Scope, start: date, end: date) -> dict[str, Any]:
    """Watch time by day, popular categories and classes, totals: one aggregation."""
    match = {**scope.tenant(), "day": {"$gte": start.isoformat(), "$lte": end.isoformat()}}
    views = {"minutes": {"$sum": "$minutes"}, "views": {"$sum": 1}}
    pipeline: list[dict[str, Any]] = [
        match_stage(match),
        {
            "$facet": {
                "by_day": [{"$group": {"_id": "$day", **views}}],
                "by_category": [{"$group": {"_id": "$category", **views}}],
                "by_class": [
                    {"$group": {"_id": "$class_id", "title": {"$first": "$class_title"},
                                "category": {"$first": "$category"}, **views}},
                ],
                "totals": [{"$group": {"_id": None, **views}}],
                "members": [{"$group": {"_id": "$member_id"}}, {"$count": "n"}],
            }
        },
    ]  # fmt: skip
    result = await (await db.watch_events.aggregate(pipeline)).to_list(None)
    out: dict[str, Any] = result[0] if result else {}
    by_day = {row["_id"]: row for row in out.get("by_day") or []}
    totals = (out.get("totals") or [{}])[0]
    members = (out.get("members") or [{}])[0]

    def ranked(rows: list[Document]) -> list[Document]:
        return sorted(rows, key=lambda r: (-int(r["minutes"]), -int(r["views"]), str(r["_id"])))

    return {
        "start": start,
        "end": end,
        "by_day": [
            {"day": day, "minutes": int(by_day.get(day, {}).get("minutes", 0)),
             "views": int(by_day.get(day, {}).get("views", 0))}
            for day in _days(start, end)
        ],
        "by_category": ranked(out.get("by_category") or []),
        "by_class": ranked(out.get("by_class") or [])[:POPULAR_CLASSES],
        "minutes": int(totals.get("minutes", 0)),
        "views": int(totals.get("views", 0)),
        "members": int(members.get("n", 0)),
    }  # fmt: skip


def percent_change(current: int, previous: int) -> str:
    """Formatted like the portal: "+12%", "-5%"; from nothing to something is "+100%"."""
    if previous == 0:
        change = 100 if current > 0 else 0
    else:
        change = round((current - previous) * 100 / previous)
    return f"{'+' if change >= 0 else ''}{change}%"


async def dashboard(db: Database, scope: Scope) -> dict[str, Any]:
    """Totals from the member counters; trends compare the last 30 days with the 30 before."""
    now = utcnow()
    tenant = scope.tenant()
    totals_rows = await (
        await db.members.aggregate([
            match_stage(tenant),
            {"$group": {"_id": None, "members": {"$sum": 1},
                        "minutes": {"$sum": "$watch_minutes"},
                        "views": {"$sum": "$classes_watched"}}},
        ])
    ).to_list(None)  # fmt: skip
    totals = totals_rows[0] if totals_rows else {}
    active = await db.members.count_documents(
        {**tenant, "last_watched_ms": {"$gte": active_since_ms(now)}}
    )
    window = timedelta(days=TREND_WINDOW_DAYS)
    recent_from, previous_from = epoch_ms(now - window), epoch_ms(now - 2 * window)
    joined_recent = await db.members.count_documents(
        {**tenant, "created_ms": {"$gte": recent_from}}
    )
    joined_before = await db.members.count_documents(
        {**tenant, "created_ms": {"$gte": previous_from, "$lt": recent_from}}
    )
    today = now.date()
    cutoff = (today - timedelta(days=TREND_WINDOW_DAYS - 1)).isoformat()
    first_day = (today - timedelta(days=2 * TREND_WINDOW_DAYS - 1)).isoformat()
    by_day = await (
        await db.watch_events.aggregate([
            match_stage(tenant, {"day": {"$gte": first_day, "$lte": today.isoformat()}}),
            {"$group": {"_id": "$day", "minutes": {"$sum": "$minutes"}}},
        ])
    ).to_list(None)  # fmt: skip
    watch_recent = sum(int(r["minutes"]) for r in by_day if r["_id"] >= cutoff)
    watch_before = sum(int(r["minutes"]) for r in by_day if r["_id"] < cutoff)
    return {
        "total_members": int(totals.get("members", 0)),
        "active_members": active,
        "total_watch_minutes": int(totals.get("minutes", 0)),
        "total_classes_watched": int(totals.get("views", 0)),
        "members_change": percent_change(joined_recent, joined_before),
        "watch_time_change": percent_change(watch_recent, watch_before),
    }


def billing_month(month: int, year: int) -> tuple[str, str]:
    """First and last day ("YYYY-MM-DD") of a billing month."""
    if not 1 <= month <= 12:
        raise BadUserInput("must be 1 to 12", field="month")
    if not 2000 <= year <= 2100:
        raise BadUserInput("must be 2000 to 2100", field="year")
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return first.isoformat(), last.isoformat()


async def billing_usage(db: Database, scope: Scope, month: int, year: int) -> list[Document]:
    """Members billed for a month (those who watched in it) with their usage, by member id."""
    first, last = billing_month(month, year)
    pipeline = [
        match_stage(scope.tenant(), {"day": {"$gte": first, "$lte": last}}),
        {"$group": {"_id": "$member_id", "minutes": {"$sum": "$minutes"}, "views": {"$sum": 1}}},
    ]
    rows = await (await db.watch_events.aggregate(pipeline)).to_list(None)
    return sorted(
        ({"member_id": r["_id"], "minutes": int(r["minutes"]), "views": int(r["views"])}
         for r in rows),
        key=lambda r: str(r["member_id"]),
    )  # fmt: skip


async def members_by_ids(db: Database, scope: Scope, ids: list[str]) -> dict[str, Document]:
    rows = await db.members.find({**scope.tenant(), "_id": {"$in": ids}}, HIDDEN).to_list(None)
    return {row["_id"]: row for row in rows}
