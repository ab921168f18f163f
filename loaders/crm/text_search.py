"""Pre-computed text search over fans: a lower-case line per searchable value, and trigrams.

The fan search's text filter is a case-insensitive part of the name, the email or the
display name. Each fan carries `text_search` (those values lower-cased, one a line) and
`text_grams` (the distinct 3-character slices of each value). The filter is one literal
regex on `text_search` (the needle lower-cased; a line break never occurs inside a value),
plus `text_grams $all` for 3+ characters, which lets MongoDB's multikey index narrow the
fans; both are flat conditions, so on the embedded store the whole search is one SQL query
that stops at the page's limit (`text_page`), and `text_count` counts without loading every
match. Every fan write keeps both fields: `new_fan_doc` (createFan, activities' and
purchases' fan upserts, ticket buyers, the demo seed) and `update_fan` (updateFan, activity
details). Fans stored before them get them from `backfill_text_grams` (each gateway start
and the demo seed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import UpdateOne

from gateway.core.errors import BadUserInput
from gateway.storage.indexes import IndexSpec
from gateway.storage.mongo import Database, Document
from loaders.base import conjoin
from loaders.crm.common import FAN_SORT

INDEXES = [IndexSpec("fans", [("partner_id", 1), ("text_grams", 1)])]

TEXT_FIELDS = ("first_name", "last_name", "email", "display_name")
GRAM = 3
MAX_QUERY_GRAMS = 8  # enough to narrow the candidates; each one more is another array test
BACKFILL_BATCH = 1000
SEPARATOR = "\n"
PROBE = 2000  # ids a count probe reads at most (about 0.15 s on the embedded store)


def search_text(doc: Document) -> str:
    """The fan's `text_search`: its searchable values, lower case, one a line."""
    return SEPARATOR.join(searchable_values(doc))


def searchable_values(doc: Document) -> list[str]:
    """The values the text filter matches, lower-cased: name (first + last), email, display name."""
    name = f"{doc.get('first_name') or ''} {doc.get('last_name') or ''}".strip().lower()
    return [name, str(doc.get("email") or "").lower(), str(doc.get("display_name") or "").lower()]


def grams(value: str) -> set[str]:
    return {value[i : i + GRAM] for i in range(len(value) - GRAM + 1)}


def text_grams(doc: Document) -> list[str]:
    """The fan's `text_grams`: distinct trigrams of each searchable value, sorted."""
    out: set[str] = set()
    for value in searchable_values(doc):
        out |= grams(value)
    return sorted(out)


def query_grams(text: str) -> list[str]:
    """Trigrams a fan must have to contain `text` (lower-cased); empty below 3 characters.

    A subset suffices for candidates (the regex decides): up to MAX_QUERY_GRAMS, spread
    over the query so both ends count.
    """
    found = sorted(grams(text.lower()))
    if len(found) <= MAX_QUERY_GRAMS:
        return found
    step = (len(found) - 1) / (MAX_QUERY_GRAMS - 1)
    return sorted({found[round(i * step)] for i in range(MAX_QUERY_GRAMS)})


def text_conditions(text: str) -> list[dict[str, Any]]:
    """The text filter's conditions on `fans`: flat, exact, no query of their own.

    `text_search` (the searchable values, lower case, one a line) holds the text as a plain
    substring: a regex on that one field is the whole test (the needle is lower-cased and
    escaped, so no `i` option and no metacharacter). 3+ characters add `text_grams $all`
    (up to 8 of its trigrams): on MongoDB a multikey index narrows the fans the regex reads;
    on the embedded store both are SQL on each row. A needle holding the line separator
    (never found inside one value) matches no fan.
    """
    needle = text.lower()
    if SEPARATOR in needle:
        return [{"_id": {"$in": []}}]
    out: list[dict[str, Any]] = []
    if wanted := query_grams(text):
        out.append({"text_grams": {"$all": wanted}})
    out.append({"text_search": {"$regex": escape_regex(needle)}})
    return out


def escape_regex(text: str) -> str:
    """`text` as a literal in a regex: every ASCII character but letters and digits escaped
    (a literal in PCRE on MongoDB and in Python's `re` on the embedded store)."""
    return "".join("\\" + c if c.isascii() and not c.isalnum() else c for c in text)


def touches_text(keys: set[str]) -> bool:
    return bool(keys & set(TEXT_FIELDS))


def text_fields(doc: Document) -> Document:
    """The stored search fields of a fan: `text_grams` and `text_search`."""
    return {"text_grams": text_grams(doc), "text_search": search_text(doc)}


async def refresh_text_grams(db: Database, doc: Document) -> Document:
    """Rewrite the fan's `text_grams` and `text_search` from its stored fields when they changed."""
    wanted = text_fields(doc)
    if any(doc.get(k) != v for k, v in wanted.items()):
        await db.fans.update_one({"_id": doc["_id"]}, {"$set": wanted})
        doc = {**doc, **wanted}
    return doc


async def backfill_text_grams(db: Database) -> int:
    """Give `text_search` (and `text_grams`) to every fan without it; returns how many.

    Batches of BACKFILL_BATCH; idempotent, so it can run again after an interruption.
    """
    done = 0
    projection = {k: 1 for k in TEXT_FIELDS}
    while True:
        rows = await db.fans.find(
            {"text_search": {"$exists": False}}, projection=projection, limit=BACKFILL_BATCH
        ).to_list(None)
        if not rows:
            return done
        await db.fans.bulk_write(
            [UpdateOne({"_id": r["_id"]}, {"$set": text_fields(r)}) for r in rows],
            ordered=False,
        )
        done += len(rows)


# --- the text search's page and count --------------------------------------------------
# On the embedded store a `find` whose filter needs an `$and` (a field twice, a branch) is
# evaluated fan by fan in Python, while one flat document is one SQL query that walks the
# `created_ms` order and stops at the limit (README: Fan search, text search). So the text
# search runs as flat queries: repeated conditions are merged here, and the keyset after a
# cursor is `created_ms <= v` with the ties already listed dropped in code.

_MERGEABLE = {"$in", "$nin", "$gt", "$gte", "$lt", "$lte"}


def flat_query(query: dict[str, Any]) -> dict[str, Any] | None:
    """`query` as one flat document (repeated `$in`/`$nin`/range conditions on a field
    merged: `$in` lists intersected, `$nin` united, the tighter bound kept; an `_id`'s
    `$nin` taken out of its `$in`); None when it keeps a branch or an unmergeable repeat."""
    out: dict[str, Any] = {}
    for part in conjoin(query).get("$and") or [conjoin(query)]:
        for key, value in part.items():
            if key.startswith("$"):
                return None
            if key not in out:
                out[key] = value
                continue
            merged = _merge(out[key], value)
            if merged is None:
                return None
            out[key] = merged
    ids = out.get("_id")
    if isinstance(ids, dict) and "$in" in ids and "$nin" in ids:
        banned = set(ids["$nin"])
        rest = {k: v for k, v in ids.items() if k != "$nin"}
        out["_id"] = {**rest, "$in": [i for i in ids["$in"] if i not in banned]}
    return out


def _merge(old: Any, new: Any) -> Any:
    if old == new:
        return old
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return None
    if not set(old) <= _MERGEABLE or not set(new) <= _MERGEABLE:
        return None
    out = dict(old)
    for op, value in new.items():
        if op not in out:
            out[op] = value
        elif op == "$in":
            keep = set(value)
            out[op] = [v for v in out[op] if v in keep]
        elif op == "$nin":
            out[op] = sorted({*out[op], *value})
        elif op in ("$gt", "$gte"):
            out[op] = max(out[op], value)
        else:
            out[op] = min(out[op], value)
    return out


def _matches_nothing(query: dict[str, Any]) -> bool:
    return any(isinstance(v, dict) and v.get("$in") == [] for v in query.values())


async def text_page(
    db: Database, query: dict[str, Any], limit: int, position: list[Any] | None
) -> tuple[list[Document], bool] | None:
    """The first `limit` fans of a text search after `position` ([created_ms, _id] of the
    last fan listed), newest first, and whether more follow; None when `query` cannot be
    one flat document (the caller pages it the general way).

    One `find` (plus one for the ties of the cursor's `created_ms`): a text most fans
    contain fills the page from the first rows of the sort order; a rare one reads each
    fan's `text_search` once in SQL.
    """
    flat = flat_query(query)
    if flat is None:
        return None
    if _matches_nothing(flat):
        return [], False
    if position is None:
        rows = await db.fans.find(flat, sort=FAN_SORT, limit=limit + 1).to_list(None)
        return rows[:limit], len(rows) > limit
    created, fan_id = position
    if not isinstance(created, int) or not isinstance(fan_id, str):
        raise BadUserInput("not a cursor from this list", field="after")
    ties = await db.fans.find(
        {**flat, "created_ms": _merge_range(flat, {"$gte": created, "$lte": created})},
        projection={"_id": 1},
    ).to_list(None)
    listed = sum(1 for t in ties if t["_id"] >= fan_id)  # the cursor's fan and the ones before
    rows = await db.fans.find(
        {**flat, "created_ms": _merge_range(flat, {"$lte": created})},
        sort=FAN_SORT, limit=limit + 1 + listed,
    ).to_list(None)  # fmt: skip
    rows = [r for r in rows if not (r["created_ms"] == created and r["_id"] >= fan_id)]
    return rows[:limit], len(rows) > limit


def _merge_range(flat: dict[str, Any], bounds: dict[str, Any]) -> Any:
    return _merge(flat["created_ms"], bounds) if "created_ms" in flat else bounds


async def text_count(
    db: Database, query: dict[str, Any], count: Callable[[dict[str, Any]], Awaitable[int]]
) -> int | None:
    """The number of fans a text search matches, exactly; None when `query` is not flat.

    The `count` command cannot run a regex as SQL on the embedded store (it loads each match:
    ~75 µs a fan), so two probes of PROBE ids come first: fewer hits than that is the count;
    else fewer misses (the same filters, the text absent: a negative lookahead) give
    `count(filters) - misses` (`count`: the search's own count of its other filters); only a
    text in between counts its hits (the `count` command: one SQL query loading each hit).
    """
    flat = flat_query(query)
    if flat is None:
        return None
    if _matches_nothing(flat):
        return 0
    hits = await db.fans.find(flat, projection={"_id": 1}, limit=PROBE).to_list(None)
    if len(hits) < PROBE:
        return len(hits)
    needle = flat["text_search"]["$regex"]
    rest = {k: v for k, v in flat.items() if k not in ("text_search", "text_grams")}
    absent = {**rest, "text_search": {"$regex": f"^(?![\\s\\S]*{needle})"}}
    misses = await db.fans.find(absent, projection={"_id": 1}, limit=PROBE).to_list(None)
    if len(misses) < PROBE:
        return await count(rest) - len(misses)
    return await _count(db, flat)


async def _count(db: Database, query: dict[str, Any]) -> int:
    reply = await db.command("count", "fans", query=query)
    return int(reply["n"])
