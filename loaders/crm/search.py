"""The CRM fan search (seed 002 "Search for Fan records"): one `find` over `fans`.

Every filter is a condition on an indexed fan field, or is resolved to fan ids first by
one indexed query (tickets, snapshot members). Conditions combine in one explicit `$and`
with the partner filter: the embedded store misreads `{partner_id: …, $or: […]}` in the
aggregation behind `count_documents` (rows of other tenants came into `totalCount`).

Pre-computed fan fields the search relies on: `last_active_ms` / `last_campaign_title`
(written with each activity, `loaders.crm.activities.insert_activity`), `birth_date` as an ISO day
string (so an age range is a string range), `name_lower`, `text_grams` (the text filter's
trigrams, `loaders.crm.text_search`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from gateway.core.errors import BadUserInput, NotFound
from gateway.storage.mongo import Database, Document
from loaders.base import (
    IndexSpec,
    Page,
    Scope,
    check_first,
    conjoin,
    decode_cursor,
    encode_cursor,
    paginate,
    utcnow,
)
from loaders.crm.common import FAN_SORT, date_range, to_ms
from loaders.crm.text_search import text_conditions, text_count, text_page

INDEXES = [
    IndexSpec("fans", [("partner_id", 1), ("last_active_ms", -1)]),
    IndexSpec("fans", [("partner_id", 1), ("birth_date", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("source", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("province", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("postal_code", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("is_subscribed", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("metro_area", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("rating", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("networks", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("idol_names", 1)]),
    IndexSpec("tickets", [("partner_id", 1), ("artist_name", 1)]),
    IndexSpec("tickets", [("partner_id", 1), ("event_date", 1)]),
    IndexSpec("tickets", [("partner_id", 1), ("venue_name", 1)]),
]

_DAY_MS = 86_400_000
DEFAULT_MAX_COUNT = 100_000  # the seed's max_count default (at most 1,000,000)
MAX_MAX_COUNT = 1_000_000
TICKET_KEYS = (
    "ticket_event_name", "ticket_venue_name", "ticket_purchased_from", "ticket_purchased_to",
    "ticket_price_code", "ticket_artist_name", "ticket_venue_provinces", "ticket_purchased_days",
    "ticket_event_from", "ticket_event_to", "ticket_seat_price_min", "ticket_seat_price_max",
    "ticket_seat_count_min", "ticket_seat_count_max", "ticket_sales_count_min",
    "ticket_sales_count_max", "ticket_negative",
)  # fmt: skip


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def birth_range(youngest: int | None, oldest: int | None, today: date) -> dict[str, str]:
    """Birth days (ISO strings) of fans aged youngest..oldest today; unknown ('') never matches."""
    out: dict[str, str] = {"$gt": ""}
    if youngest is not None:
        out["$lte"] = years_before(today, youngest).isoformat()
    if oldest is not None:
        out["$gt"] = years_before(today, oldest + 1).isoformat()
    return out


async def fan_search_query(db: Database, scope: Scope, filters: Document) -> dict[str, Any]:
    """The `find` filter of the fan search; ticket and snapshot filters resolve to ids first."""
    now = utcnow()
    conjuncts: list[dict[str, Any]] = [scope.tenant()]
    if text := filters.get("text"):
        conjuncts += text_conditions(text)
    for flag in ("is_subscribed", "is_phone_subscribed", "is_optout"):
        if filters.get(flag) is not None:
            conjuncts.append({flag: bool(filters[flag])})
    for field, any_key, all_key, none_key in (("tags", "tags", "tags_all", "tags_none"),
                                              ("idol_names", "idols", "idols_all",
                                               "idols_none")):  # fmt: skip
        if condition := relations(filters.get(any_key), filters.get(all_key),
                                  filters.get(none_key)):  # fmt: skip
            conjuncts.append({field: condition})
    for key, field in (("country_code", "country_code"),):
        if filters.get(key):
            conjuncts.append({field: filters[key]})
    for key, field in (("provinces", "province"), ("postal_codes", "postal_code"),
                       ("genders", "gender"), ("sources", "source"),
                       ("metro_areas", "metro_area"), ("networks", "networks")):  # fmt: skip
        if filters.get(key):
            conjuncts.append({field: {"$in": list(filters[key])}})
    rating = {op: filters[key] for op, key in (("$gte", "rating_min"), ("$lte", "rating_max"))
              if filters.get(key) is not None}  # fmt: skip
    if rating:
        conjuncts.append({"rating": rating})
    created = date_range(filters.get("created_from"), filters.get("created_to"))
    if created:
        conjuncts.append({"created_ms": {op: to_ms(v) for op, v in created.items()}})
    if filters.get("youngest_age") is not None or filters.get("oldest_age") is not None:
        ages = birth_range(filters.get("youngest_age"), filters.get("oldest_age"), now.date())
        conjuncts.append({"birth_date": ages})
    conjuncts += _activity_conditions(filters, to_ms(now))
    conjuncts += await _snapshot_conditions(db, scope, filters)
    buyers = await ticket_buyers(db, scope, filters, now.date())
    if buyers is not None:
        op = "$nin" if filters.get("ticket_negative") else "$in"
        conjuncts.append({"_id": {op: sorted(buyers)}})
    return {"$and": conjuncts}


def relations(any_of: list[str] | None, all_of: list[str] | None,
              none_of: list[str] | None) -> dict[str, list[str]]:  # fmt: skip
    """The seed's OR / AND / NOT relations over an array field, as one operator document.

    `$in` / `$all` / `$nin` rather than `{field: value}` per value and `$nor`: with an index
    on the array field the embedded store's `find` matches nothing for `{tags: "x"}`, and
    its `count` command reads `$nor` differently from `find` (README: deviations).
    """
    out: dict[str, list[str]] = {}
    for op, values in (("$in", any_of), ("$all", all_of), ("$nin", none_of)):
        if values:
            out[op] = list(values)
    return out


def _activity_conditions(filters: Document, now_ms: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if filters.get("active_within_days") is not None:
        out.append({"last_active_ms": {"$gte": now_ms - filters["active_within_days"] * _DAY_MS}})
    if filters.get("inactive_for_days") is not None:
        # Never active counts as inactive: fans without the field match too (spelt with
        # `$exists`, not `$nor`: the store's count command drops missing fields under `$nor`).
        since = now_ms - filters["inactive_for_days"] * _DAY_MS
        out.append({"$or": [{"last_active_ms": {"$lt": since}},
                            {"last_active_ms": {"$exists": False}}]})  # fmt: skip
    active = date_range(filters.get("active_from"), filters.get("active_to"))
    if active:
        out.append({"last_active_ms": {op: to_ms(v) for op, v in active.items()}})
    return out


async def _snapshot_conditions(
    db: Database, scope: Scope, filters: Document
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key, negate in (("in_snapshots", False), ("not_in_snapshots", True)):
        wanted = sorted(set(filters.get(key) or []))
        if not wanted:
            continue
        tenant = scope.tenant()
        found = await db.crm_snapshots.count_documents({**tenant, "_id": {"$in": wanted}})
        if found != len(wanted):
            raise NotFound("Snapshot not found.", field=f"filter.{_camel(key)}")
        members = await db.crm_snapshot_fans.find(
            {**tenant, "snapshot_id": {"$in": wanted}}, projection={"fan_id": 1, "_id": 0}
        ).to_list(None)
        out.append({"_id": {"$nin" if negate else "$in": sorted({m["fan_id"] for m in members})}})
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def ticket_buyers(
    db: Database, scope: Scope, filters: Document, today: date
) -> set[str] | None:
    """Fans with (not deleted) tickets matching every ticket filter; None without ticket filters.

    One indexed `find` over the partner's tickets; the per-seat price (paid / seats) and the
    number of matching purchases per fan are checked on the fetched rows.
    """
    if not any(filters.get(k) is not None and filters.get(k) != [] for k in TICKET_KEYS):
        return None
    query: dict[str, Any] = {**scope.tenant(), "is_deleted": False}
    for key, field in (("ticket_event_name", "event_name"), ("ticket_venue_name", "venue_name"),
                       ("ticket_price_code", "price_code"),
                       ("ticket_artist_name", "artist_name")):  # fmt: skip
        if filters.get(key):
            query[field] = filters[key]
    if filters.get("ticket_venue_provinces"):
        query["province"] = {"$in": list(filters["ticket_venue_provinces"])}
    lo = filters.get("ticket_purchased_from")
    if filters.get("ticket_purchased_days") is not None:
        recent = today - timedelta(days=filters["ticket_purchased_days"] - 1)
        lo = max(lo, recent) if lo else recent
    purchased = date_range(lo, filters.get("ticket_purchased_to"))
    if purchased:
        query["purchased_at"] = purchased
    event: dict[str, str] = {}
    if filters.get("ticket_event_from"):
        event["$gte"] = filters["ticket_event_from"].isoformat()
    if filters.get("ticket_event_to"):
        event["$lte"] = filters["ticket_event_to"].isoformat()
    if event:
        query["event_date"] = event
    seats: dict[str, int] = {}
    if filters.get("ticket_seat_count_min") is not None:
        seats["$gte"] = filters["ticket_seat_count_min"]
    if filters.get("ticket_seat_count_max") is not None:
        seats["$lte"] = filters["ticket_seat_count_max"]
    if seats:
        query["num_seats"] = seats
    rows = await db.tickets.find(
        query, projection={"fan_id": 1, "paid_amount": 1, "num_seats": 1, "_id": 0}
    ).to_list(None)
    price_min = filters.get("ticket_seat_price_min")
    price_max = filters.get("ticket_seat_price_max")
    sales: dict[str, int] = {}
    for row in rows:
        # Per-seat price in minor units, compared exactly: paid / seats >= min ⇔ paid >= min·seats.
        paid, n = int(row["paid_amount"]), max(int(row["num_seats"]), 1)
        if price_min is not None and paid < price_min * n:
            continue
        if price_max is not None and paid > price_max * n:
            continue
        sales[row["fan_id"]] = sales.get(row["fan_id"], 0) + 1
    lo_sales = filters.get("ticket_sales_count_min")
    hi_sales = filters.get("ticket_sales_count_max")
    return {
        fan for fan, count in sales.items()
        if (lo_sales is None or count >= lo_sales) and (hi_sales is None or count <= hi_sales)
    }  # fmt: skip


async def count_fans(db: Database, query: dict[str, Any]) -> int:
    """The number of fans matching `query`, by the `count` command.

    `count_documents` is an aggregation (`$match` + `$group`), which the embedded store
    evaluates document by document (4 to 5 thousand fans/s); its `count` command runs one SQL
    `COUNT` when it can translate the filter (measured in the README: Fan search speed).
    On MongoDB `count` with a query is exact outside sharded clusters with orphans. The
    search avoids `$nor`, which that command reads differently on the store
    (tests/test_crm_storage.py), and the oracle tests check every filter's count.
    """
    reply = await db.command("count", "fans", query=conjoin(query))
    return int(reply["n"])


async def list_fans(db: Database, scope: Scope, filters: Document, first: int | None,
                    after: str | None) -> Page:  # fmt: skip
    """A page of the search, newest first, within the seed's `max_count` (default 100,000).

    The cursor carries the number of fans listed up to it, so a walk stops at `max_count`
    without counting; `totalCount` is the match count capped at `max_count`.
    """
    query = await fan_search_query(db, scope, filters)
    cap = int(filters.get("max_count") or DEFAULT_MAX_COUNT)
    limit = check_first(first)
    seen, position, values = 0, None, None
    if after is not None:
        *values, seen = decode_cursor(after, len(FAN_SORT) + 1)
        if not isinstance(seen, int) or seen < 0:
            raise BadUserInput("not a cursor from this list", field="after")
        position = encode_cursor(values)
    room = cap - seen
    rows: list[Document] = []
    more = False
    text = bool(filters.get("text"))  # flat queries of its own (`loaders.crm.text_search`)
    if room > 0:
        page = await text_page(db, query, min(limit, room), values) if text else None
        rows, more = page or await _page_rows(db, query, min(limit, room), position)

    async def count() -> int:
        counted = await text_count(db, query, lambda q: count_fans(db, q)) if text else None
        return min(await count_fans(db, query) if counted is None else counted, cap)

    cursors = [encode_cursor([*(row[f] for f, _ in FAN_SORT), seen + i + 1])
               for i, row in enumerate(rows)]  # fmt: skip
    return Page(rows=rows, cursors=cursors, has_next_page=room > len(rows) and more,
                count=count)  # fmt: skip


def split_branches(query: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`A and (B or C)` as the plain filters `A and B`, `A and C`, when each is one flat
    document (no `$and`); None otherwise.

    On the embedded store a `find` whose filter needs an `$and` (a branch next to other
    fields) is evaluated document by document in Python (measured: 17 s for a page of the
    inactive search over 100k fans), while each flat filter is one indexed SQL query.
    """
    conjuncts = conjoin(query).get("$and")
    if not conjuncts:
        return None
    ors = [c for c in conjuncts if set(c) == {"$or"}]
    if len(ors) != 1:
        return None
    rest = [c for c in conjuncts if c is not ors[0]]
    branches = [conjoin(*rest, branch) for branch in ors[0]["$or"]]
    return None if any("$and" in b or "$or" in b for b in branches) else branches


async def _page_rows(db: Database, query: dict[str, Any], limit: int,
                     after: str | None) -> tuple[list[Document], bool]:  # fmt: skip
    """The first `limit` fans of the search after a position, and whether more follow.

    A search with one `$or` reads each branch's first page (keyset on the same sort, so
    their union holds the true first page) and merges them, dropping fans two branches found.
    """
    branches = split_branches(query)
    if branches is None:
        page = await paginate(db.fans, query, sort=FAN_SORT, first=limit, after=after)
        return page.rows, page.has_next_page
    pages = [await paginate(db.fans, b, sort=FAN_SORT, first=limit, after=after)
             for b in branches]  # fmt: skip
    merged = {row["_id"]: row for page in pages for row in page.rows}
    rows = sorted(merged.values(), key=lambda r: (r["created_ms"], r["_id"]), reverse=True)
    return rows[:limit], len(rows) > limit or any(page.has_next_page for page in pages)
