"""The CRM fan search (seed 002 "Search for Fan records"): one `find` over `fans`.

Every filter is a condition on an indexed fan field, or is resolved to fan ids first by
one indexed query (tickets, snapshot members). Conditions combine in one explicit `$and`
with the partner filter: the embedded store misreads `{partner_id: …, $or: […]}` in the
aggregation behind `count_documents` (rows of other tenants came into `totalCount`).

Pre-computed fan fields the search relies on: `last_active_ms` / `last_campaign_title`
(written with each activity, `loaders.crm.activities.insert_activity`), `birth_day` (an age
range is an integer range) and `active_ms` (inactive is one range), both
`loaders.crm.search_fields`, `name_lower`, `text_grams` (the text filter's trigrams,
`loaders.crm.text_search`).

Query shapes, for the embedded store (measured in the README, Fan search speed): a page is
one or more FLAT `find` filters (a `find` needing `$and` is evaluated fan by fan in Python
there), merged in code: a filter's one `$or` and the keyset position each split into flat
filters. `totalCount` spells equalities as `$eq` and a scalar `$in` as an `$or` of `$eq`
(`countable`): the store's count command turns a plain `{field: v}` into "v or an array
containing v", which no index serves, and a scalar `$in` into a Python scan.
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
from loaders.crm.search_fields import day_number
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
# Array fields of the fan: `$in` on those is element membership, never an equality.
ARRAY_FIELDS = frozenset({"tags", "idol_names", "networks", "text_grams", "business_opt_ins"})
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


def birth_range(youngest: int | None, oldest: int | None, today: date) -> dict[str, int]:
    """`birth_day` numbers of fans aged youngest..oldest today (unknown: no field, no match)."""
    out: dict[str, int] = {}
    if youngest is not None:
        out["$lte"] = day_number(years_before(today, youngest))
    if oldest is not None:
        out["$gt"] = day_number(years_before(today, oldest + 1))
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
            values = sorted(set(filters[key]))
            # One value as an equality: the store serves it from the field's index.
            single = field not in ARRAY_FIELDS and len(values) == 1
            conjuncts.append({field: values[0] if single else {"$in": values}})
    rating = {op: filters[key] for op, key in (("$gte", "rating_min"), ("$lte", "rating_max"))
              if filters.get(key) is not None}  # fmt: skip
    if rating:
        conjuncts.append({"rating": rating})
    created = date_range(filters.get("created_from"), filters.get("created_to"))
    if created:
        conjuncts.append({"created_ms": {op: to_ms(v) for op, v in created.items()}})
    if filters.get("youngest_age") is not None or filters.get("oldest_age") is not None:
        ages = birth_range(filters.get("youngest_age"), filters.get("oldest_age"), now.date())
        conjuncts.append({"birth_day": ages})
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
        # Never active counts as inactive: `active_ms` is 0 for those (one range, no `$or`).
        since = now_ms - filters["inactive_for_days"] * _DAY_MS
        out.append({"active_ms": {"$lt": since}})
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
    # Equalities as `$eq`: the store's `find` serves those from an index (its plain
    # `{field: v}` is "v or an array containing v" wherever the field has no index of its own).
    # With only ranges (purchase / event days: compared as `datetime(…)`, no index) the
    # partner stays plain: one pass over the table reads faster than any partner index
    # the planner would pick (bench, negative search: 443 ms plain, 572 ms with `$eq`).
    named = any(filters.get(k) for k in ("ticket_event_name", "ticket_venue_name",
                                         "ticket_price_code", "ticket_artist_name"))  # fmt: skip
    tenant = {k: {"$eq": v} for k, v in scope.tenant().items()} if named else scope.tenant()
    query: dict[str, Any] = {**tenant, "is_deleted": {"$eq": False}}
    for key, field in (("ticket_event_name", "event_name"), ("ticket_venue_name", "venue_name"),
                       ("ticket_price_code", "price_code"),
                       ("ticket_artist_name", "artist_name")):  # fmt: skip
        if filters.get(key):
            query[field] = {"$eq": filters[key]}
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


def countable(query: dict[str, Any]) -> dict[str, Any]:
    """The same filter spelt so the embedded store's count command serves it from indexes.

    `{field: v}` on a scalar field becomes `{field: {$eq: v}}` (the count command reads the
    plain form as "v or an array containing v", which no index serves: every count scanned
    the collection), a scalar `$in` an `$or` of `$eq` (it evaluates `$in` fan by fan in
    Python), an array's `$in` / `$all` an `$or` / list of plain equalities (array
    containment, in SQL). The same documents match on MongoDB.
    """
    clauses = _conjuncts_of(query)
    if any(f in ARRAY_FIELDS and isinstance(v, dict) and "$nin" in v
           for c in clauses for f, v in c.items()):  # fmt: skip
        # The count command cannot translate an array's `$nin`: it evaluates the filter in
        # Python, where a flat filter (as given) is cheaper than the `$and` spelt here.
        return query
    # Next to an id list (buyers, snapshot members, text hits) the partner stays plain, so
    # the planner counts through the id index rather than over the partner's index.
    ids = any(isinstance(c.get("_id"), dict) and "$in" in c["_id"] for c in clauses)
    parts: list[dict[str, Any]] = []
    for clause in clauses:
        for field, value in clause.items():
            plain = ids and field == "partner_id"
            parts.extend([{field: value}] if plain else _countable_condition(field, value))
    return conjoin(*parts)


def _conjuncts_of(query: dict[str, Any]) -> list[dict[str, Any]]:
    if set(query) == {"$and"}:
        return [c for part in query["$and"] for c in _conjuncts_of(part)]
    return [query]


def _countable_condition(field: str, value: Any) -> list[dict[str, Any]]:
    if field.startswith("$") or field == "_id":
        return [{field: value}]
    if field in ARRAY_FIELDS:
        if isinstance(value, dict) and set(value) == {"$in"}:
            return [{"$or": [{field: v} for v in value["$in"]]}]
        if isinstance(value, dict) and set(value) == {"$all"}:
            return [{field: v} for v in value["$all"]]
        if isinstance(value, dict) and "$in" in value and "$all" not in value:
            rest = {k: v for k, v in value.items() if k != "$in"}
            return [{"$or": [{field: v} for v in value["$in"]]}, {field: rest}]
        return [{field: value}]
    if isinstance(value, dict):
        if set(value) == {"$in"}:
            return [{"$or": [{field: {"$eq": v}} for v in value["$in"]]}]
        return [{field: value}]
    if isinstance(value, (str, int, bool)):
        return [{field: {"$eq": value}}]
    return [{field: value}]


async def count_fans(db: Database, query: dict[str, Any]) -> int:
    """The number of fans matching `query`, by the `count` command.

    `count_documents` is an aggregation (`$match` + `$group`), which the embedded store
    evaluates document by document (4 to 5 thousand fans/s); its `count` command runs one SQL
    `COUNT` when it can translate the filter, served from indexes when spelt by `countable`
    (measured in the README: Fan search speed). On MongoDB `count` with a query is exact
    outside sharded clusters with orphans. The search avoids `$nor`, which that command
    reads differently on the store (tests/test_crm_storage.py), and the oracle tests check
    every filter's count.
    """
    reply = await db.command("count", "fans", query=countable(conjoin(query)))
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
        if not isinstance(seen, int) or seen < 0 or not isinstance(values[0], int):
            raise BadUserInput("not a cursor from this list", field="after")
        position = (int(values[0]), str(values[1]))
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
    document (no `$and`); `[A]` for a flat `A`; None otherwise.

    On the embedded store a `find` whose filter needs an `$and` (a branch next to other
    fields) is evaluated document by document in Python (measured: 17 s for a page of the
    inactive search over 100k fans), while each flat filter is one indexed SQL query.
    """
    flat = conjoin(query)
    conjuncts = flat.get("$and")
    if not conjuncts:
        return [flat]
    ors = [c for c in conjuncts if set(c) == {"$or"}]
    if len(ors) != 1:
        return None
    rest = [c for c in conjuncts if c is not ors[0]]
    branches = [conjoin(*rest, branch) for branch in ors[0]["$or"]]
    return None if any("$and" in b or "$or" in b for b in branches) else branches


ORDER_SCAN_MIN = 2000  # a range matching this many fans is read in the sort's index order
_RANGE_OPS = {"$gt", "$gte", "$lt", "$lte"}


async def _ordered(db: Database, branch: dict[str, Any]) -> dict[str, Any]:
    """The flat filter, with a hint to read it in the sort's order when its ranges are wide.

    The store's planner serves a range condition (rating, age, activity) from that field's
    index and then sorts every match (300 ms for 80,000 fans), or, when `created_ms` has a
    range too, walks the `(partner_id, created_ms, _id)` index in page order and stops at
    the page (2 ms). The walk is slow when few fans match, so the hint (`created_ms >= 0`,
    true for every fan) is added only when one indexed COUNT of the ranges finds
    ORDER_SCAN_MIN fans or more.
    """
    ranges = {f: v for f, v in branch.items() if f not in ("created_ms", "_id")
              and isinstance(v, dict) and v and set(v) <= _RANGE_OPS}  # fmt: skip
    ids = branch.get("_id")
    if not ranges or "created_ms" in branch or (isinstance(ids, dict) and "$in" in ids):
        return branch  # an id list (buyers, snapshot members) is served by the id index
    tenant = {f: {"$eq": branch[f]} for f in ("partner_id",) if f in branch}
    reply = await db.command("count", "fans", query={**tenant, **ranges})
    return {**branch, "created_ms": {"$gte": 0}} if int(reply["n"]) >= ORDER_SCAN_MIN else branch


async def _find_page(db: Database, query: dict[str, Any], limit: int) -> list[Document]:
    return await db.fans.find(query, sort=FAN_SORT, limit=limit + 1).to_list(None)


def _after(branch: dict[str, Any], created: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keyset `(created_ms, _id) < position` as two flat filters: `created_ms < c`, and
    `created_ms == c` (whose `_id` bound is applied in code: the store evaluates an `_id`
    range fan by fan in Python, over the whole collection)."""
    bound = dict(branch.get("created_ms") or {})
    older = {**bound, "$lt": min(created, bound.get("$lt", created))}
    return {**branch, "created_ms": older}, {**branch, "created_ms": {**bound, "$eq": created}}


async def _tied(db: Database, same: dict[str, Any], below_id: str, limit: int) -> list[Document]:
    """The first `limit + 1` fans of `same` (one `created_ms`) with an id below `below_id`:
    their ids first (fans created in the same millisecond: few, except in a bulk import),
    then those rows by id."""
    ids = await db.fans.find(same, projection={"_id": 1}).to_list(None)
    wanted = sorted((r["_id"] for r in ids if r["_id"] < below_id), reverse=True)[: limit + 1]
    if not wanted:
        return []
    return await db.fans.find({**same, "_id": {"$in": wanted}}, sort=FAN_SORT).to_list(None)


async def _page_rows(db: Database, query: dict[str, Any], limit: int,
                     position: tuple[int, str] | None) -> tuple[list[Document], bool]:  # fmt: skip
    """The first `limit` fans of the search after a position, and whether more follow.

    Each flat filter of the search (`split_branches`) is one `find` for the first page, three
    after a position (`_after`, `_tied`), plus `_ordered`'s COUNT where it has ranges; their
    first pages (same sort, so their union holds the true first page) are merged, dropping
    fans two branches found.
    """
    branches = split_branches(query)
    if branches is None:  # not flat: one `find` the store evaluates in Python
        after = None if position is None else encode_cursor(list(position))
        page = await paginate(db.fans, query, sort=FAN_SORT, first=limit, after=after)
        return page.rows, page.has_next_page
    merged: dict[str, Document] = {}
    more = False
    for branch in branches:
        pages: list[list[Document]] = []
        if position is None:
            pages.append(await _find_page(db, await _ordered(db, branch), limit))
        else:
            older, same = _after(branch, position[0])
            pages.append(await _find_page(db, await _ordered(db, older), limit))
            pages.append(await _tied(db, same, position[1], limit))
        for rows in pages:
            more = more or len(rows) > limit
            merged.update((row["_id"], row) for row in rows[:limit])
    rows = sorted(merged.values(), key=lambda r: (r["created_ms"], r["_id"]), reverse=True)
    return rows[:limit], len(rows) > limit or more
