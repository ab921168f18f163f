"""Pre-computed fan fields of the fan search, and their backfill for fans stored before them.

Each one turns a filter the embedded store cannot serve from an index into one it can:

- `birth_day`: the birth date as days since 1970-01-01 (absent when unknown). An age range is
  an integer range; the store reads an ISO day string as a date and compares
  `datetime(json_extract(…))`, which no index serves (a scan of every fan of the partner).
- `active_ms`: `last_active_ms`, or 0 for a fan never active, so "inactive for N days" is
  one range (`< since`) instead of `< since OR missing` (two queries merged in code).

Every fan write keeps them: `new_fan_doc` (createFan, activity / purchase / ticket buyers,
the demo seed, the bench), `update_fan` (a new birth date), `insert_activity` and the demo's
activities (`$max` on `active_ms` next to `last_active_ms`).

`backfill_search_fields` (run at app start, like the text trigrams) gives fans written before
these fields existed every pre-computed or derived field of the search: the two above,
`rating` 0, empty `networks` / `idol_names` / `metro_area` when missing, the networks and
idols of the fan's activities, `last_active_ms` / `last_campaign_title` / `last_campaign_id`
from its latest activity, and the metro area of its latest ticket that has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pymongo import UpdateOne

from gateway.storage.indexes import IndexSpec
from gateway.storage.mongo import Database, Document
from loaders.crm.common import to_ms

INDEXES = [
    IndexSpec("fans", [("partner_id", 1), ("birth_day", 1)]),
    IndexSpec("fans", [("partner_id", 1), ("active_ms", 1)]),
    # The ticket filters spell equalities `$eq` (the store's `find` spells a plain `{field: v}`
    # as "v or an array containing v" unless the field has an index of its own).
    IndexSpec("tickets", [("partner_id", 1), ("event_name", 1)]),
    IndexSpec("tickets", [("partner_id", 1), ("price_code", 1)]),
    IndexSpec("fans", [("search_fields", 1)]),
]

SEARCH_FIELDS_VERSION = 1  # `search_fields` on a fan: which backfill it has had
BACKFILL_BATCH = 1000
_EPOCH = date(1970, 1, 1)


def birth_day(birth_date: str) -> int | None:
    """Days since 1970-01-01 of an ISO birth day; None when unknown ('')."""
    if not birth_date:
        return None
    return (date.fromisoformat(birth_date) - _EPOCH).days


def day_number(day: date) -> int:
    return (day - _EPOCH).days


def precomputed_fields(doc: Mapping[str, Any]) -> Document:
    """The pre-computed search fields of a complete fan document (`birth_day` when known)."""
    out: Document = {"active_ms": int(doc.get("last_active_ms") or 0),
                     "search_fields": SEARCH_FIELDS_VERSION}  # fmt: skip
    day = birth_day(str(doc.get("birth_date") or ""))
    if day is not None:
        out["birth_day"] = day
    return out


def birth_day_update(birth_date: str) -> tuple[Document, list[str]]:
    """The `$set` / `$unset` keeping `birth_day` in step with a new `birth_date`."""
    day = birth_day(birth_date)
    return ({"birth_day": day}, []) if day is not None else ({}, ["birth_day"])


async def backfill_search_fields(db: Database) -> int:
    """Give every fan without `search_fields` its pre-computed and derived search fields.

    Batches of BACKFILL_BATCH fans, each with one query for their activities and one for
    their tickets; a fan's own values win (only missing fields are set, activity times by
    `$max`), and the marker goes in the same update, so a run interrupted half-way (or run
    twice) is safe to run again. Returns how many fans it updated.
    """
    done = 0
    while True:
        fans = await db.fans.find(
            {"search_fields": {"$exists": False}}, limit=BACKFILL_BATCH
        ).to_list(None)
        if not fans:
            return done
        ids = [f["_id"] for f in fans]
        activities = await db.fan_activities.find(
            {"fan_id": {"$in": ids}},
            projection={"fan_id": 1, "created_at": 1, "campaign_title": 1, "campaign_id": 1,
                        "networks": 1, "idol_names": 1},
        ).to_list(None)  # fmt: skip
        tickets = await db.tickets.find(
            {"fan_id": {"$in": ids}, "is_deleted": False},
            projection={"fan_id": 1, "purchased_at": 1, "metro_area": 1, "country_code": 1},
        ).to_list(None)
        updates = [_backfill(f, activities, tickets) for f in fans]
        await db.fans.bulk_write(updates, ordered=False)
        done += len(updates)


def _backfill(fan: Document, activities: list[Document], tickets: list[Document]) -> UpdateOne:
    from loaders.crm.tickets import metro_of  # tickets imports fans, which imports this

    own = [a for a in activities if a["fan_id"] == fan["_id"]]
    sets: Document = {}
    for key, empty in (("rating", 0), ("metro_area", ""), ("networks", []), ("idol_names", [])):
        if key not in fan:
            sets[key] = empty
    for key in ("networks", "idol_names"):
        found = sorted({v for a in own for v in a.get(key) or []} - set(fan.get(key) or []))
        if found:
            sets[key] = sorted({*(fan.get(key) or []), *found})
    latest = max(own, key=lambda a: a["created_at"], default=None)
    last_ms = fan.get("last_active_ms")
    if latest is not None:
        latest_ms = to_ms(latest["created_at"])
        last_ms = max(int(last_ms or 0), latest_ms)
        if "last_campaign_title" not in fan:
            sets["last_campaign_title"] = latest.get("campaign_title", "")
        if "last_campaign_id" not in fan:
            sets["last_campaign_id"] = latest.get("campaign_id", "")
    if not (fan.get("metro_area") or ""):
        bought = sorted((t for t in tickets if t["fan_id"] == fan["_id"] and metro_of(t)),
                        key=lambda t: t["purchased_at"])  # fmt: skip
        if bought:
            sets["metro_area"] = metro_of(bought[-1])["metro_area"]
    sets.update(precomputed_fields({**fan, "last_active_ms": last_ms}))
    update: Document = {"$set": sets}
    if last_ms:
        update["$max"] = {"last_active_ms": int(last_ms)}
        sets.pop("active_ms")
        update["$max"]["active_ms"] = int(last_ms)
    return UpdateOne({"_id": fan["_id"], "search_fields": {"$exists": False}}, update)
