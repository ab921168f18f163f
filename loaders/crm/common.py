"""Fan CRM data access shared by its sub-domains: indexes, sort keys, time helpers and
per-partner sequences.

Embedded-store rules the CRM follows (see README, CRM section): timestamps that change after
insert (`updated_ms`, `first_purchase_ms`) are epoch-milliseconds integers, because `$set`/`$min`
of a datetime on an existing document comes back as a string there; aggregations group by one
string field (a compound `$group` `_id` is taken literally there); a DuplicateKeyError does not
say which index fired, so conflicts are re-queried to name the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pymongo import ReturnDocument

from gateway.storage.mongo import Database
from loaders.base import (
    IndexSpec,
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
