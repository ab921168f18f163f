"""Pre-computed text search over fans: lower-case trigrams of the searchable text.

The fan search's text filter is a case-insensitive part of the name, the email or the
display name. A regex alone scans every fan of the partner (the embedded store evaluates it
fan by fan), so each fan also carries `text_grams`: the distinct 3-character slices of each
of those values, lower-cased (slices never cross from one value into the next). Every fan
write keeps it: `new_fan_doc` (createFan, activities' and purchases' fan upserts, ticket
buyers, the demo seed) and `update_fan` (updateFan, activity details). A query of 3 or more
characters needs all of its trigrams (`$all` on the indexed array: the candidates), then the
same substring test as before on the candidates (so results are unchanged); 1-2 character
queries keep the regex alone.
Fans stored before the field existed get it from `backfill_text_grams` (run by the demo seed
and `gateway backfill-fan-search`).
"""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne

from gateway.storage.indexes import IndexSpec
from gateway.storage.mongo import Database, Document
from loaders.base import conjoin

INDEXES = [IndexSpec("fans", [("partner_id", 1), ("text_grams", 1)])]

TEXT_FIELDS = ("first_name", "last_name", "email", "display_name")
GRAM = 3
MAX_QUERY_GRAMS = 8  # enough to narrow the candidates; each one more is another array test
BACKFILL_BATCH = 1000


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


def contains(row: Document, needle: str) -> bool:
    """The text filter itself: `needle` (lower case) is part of a searchable value."""
    return any(needle in value for value in searchable_values(row))


async def text_conditions(
    db: Database, tenant: dict[str, Any], text: str, pattern: dict[str, str]
) -> list[dict[str, Any]]:
    """The text filter's conditions on `fans`, exact (the same fans as the regex).

    3+ characters: the candidates are one `$all` query on the indexed trigrams; their stored
    values are checked in code, and the condition becomes whichever id list is shorter:
    `_id $in` the hits, or the trigrams again with `_id $nin` the misses. Both are plain
    conditions the embedded store runs as SQL; a regex there is evaluated fan by fan in
    Python even next to an indexed condition (README: Fan search). Shorter queries keep the
    regex on the three fields.
    """
    wanted = query_grams(text)
    if not wanted:
        return [{"$or": [{"name_lower": pattern}, {"email": pattern}, {"display_name": pattern}]}]
    candidates = {"text_grams": {"$all": wanted}}
    rows = await db.fans.find(
        conjoin(tenant, candidates), projection={k: 1 for k in TEXT_FIELDS}
    ).to_list(None)
    needle = text.lower()
    hits = sorted(r["_id"] for r in rows if contains(r, needle))
    if len(hits) * 2 <= len(rows):
        return [{"_id": {"$in": hits}}]
    misses = sorted({r["_id"] for r in rows} - set(hits))
    return [candidates, {"_id": {"$nin": misses}}] if misses else [candidates]


def touches_text(keys: set[str]) -> bool:
    return bool(keys & set(TEXT_FIELDS))


async def refresh_text_grams(db: Database, doc: Document) -> Document:
    """Rewrite the fan's `text_grams` from its stored fields when they changed."""
    wanted = text_grams(doc)
    if doc.get("text_grams") != wanted:
        await db.fans.update_one({"_id": doc["_id"]}, {"$set": {"text_grams": wanted}})
        doc = {**doc, "text_grams": wanted}
    return doc


async def backfill_text_grams(db: Database) -> int:
    """Give `text_grams` to every fan without it (written before the field); returns how many.

    Batches of BACKFILL_BATCH; idempotent, so it can run again after an interruption.
    """
    done = 0
    projection = {k: 1 for k in TEXT_FIELDS}
    while True:
        rows = await db.fans.find(
            {"text_grams": {"$exists": False}}, projection=projection, limit=BACKFILL_BATCH
        ).to_list(None)
        if not rows:
            return done
        await db.fans.bulk_write(
            [UpdateOne({"_id": r["_id"]}, {"$set": {"text_grams": text_grams(r)}}) for r in rows],
            ordered=False,
        )
        done += len(rows)
