"""Activations: a partner's presence at one event, its engagement counters and stats.

Storage (see README, "Activations"):

- `activations`: one document per activation; the read-only stats token is stored only as
  its SHA-256 (`token_digest`, unique index declared in `loaders.identity`). Deleting sets
  `status: "deleted"`, which kills the token and hides the activation everywhere.
- `activation_daily`: per (activation, UTC day) counters, `$inc`-upserted on every event:
  event counts, plus `new_*_sessions` = sessions seen for the first time in the activation's
  window on that day. Summing a window's days therefore gives exact window-wide distinct
  counts with ONE small `find` (and one `$in` find for a whole page of activations).
- `activation_sessions`: unique-session facts, one document per (activation, day, kind,
  session) and per (activation, "all", kind, session), with the fact as its `_id` so the
  unique `_id` index decides races: exactly one concurrent insert of a fact wins, and only the
  winner increments a `new_*_sessions` counter. Day facts answer distinct counts over a
  narrower day range with one aggregation on pre-bucketed `day` strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from gateway.auth import secrets as creds
from gateway.core.errors import BadUserInput
from gateway.core.ids import new_id
from gateway.core.validation import check_printable
from gateway.storage.mongo import Database, Document
from loaders.base import (
    IndexSpec,
    Page,
    Scope,
    ScopedLoader,
    epoch_ms,
    in_key_order,
    match_stage,
    paginate,
    utcnow,
)
from loaders.identity import find_activation_by_token

INDEXES = [
    # The `activations.token_digest` unique index is declared in loaders.identity.
    # Lists sort on epoch-ms: the embedded store compares datetimes in `find` to the second,
    # which would make keyset cursors skip or repeat activations starting in one second.
    IndexSpec("activations", [("partner_id", 1), ("start_ms", -1), ("_id", -1)]),
    IndexSpec("activations", [("partner_id", 1), ("status", 1), ("start_ms", -1), ("_id", -1)]),
    IndexSpec("activation_daily", [("partner_id", 1), ("activation_id", 1), ("day", 1)]),
    IndexSpec(
        "activation_sessions",
        [("partner_id", 1), ("activation_id", 1), ("bucket", 1), ("day", 1), ("kind", 1)],
    ),
]


class ActivationStatus(StrEnum):
    """Lifecycle of an activation; `deleted` is internal (never listed, token dead)."""

    DRAFT = "draft"
    LIVE = "live"
    ENDED = "ended"
    ARCHIVED = "archived"
    DELETED = "deleted"


VISIBLE_STATUSES = (
    ActivationStatus.DRAFT,
    ActivationStatus.LIVE,
    ActivationStatus.ENDED,
    ActivationStatus.ARCHIVED,
)
# Stats exist once an activation has gone live; a draft has nothing to report (REST 409).
STATS_STATUSES = frozenset(
    {ActivationStatus.LIVE, ActivationStatus.ENDED, ActivationStatus.ARCHIVED}
)
# Forward-only lifecycle: a status may move to any later one.
STATUS_ORDER = {s: i for i, s in enumerate(VISIBLE_STATUSES)}


class EventKind(StrEnum):
    """What a tracked event was; the value names its fact `kind`."""

    VIEW = "view"
    OUTBOUND_CLICK = "outbound"
    CALENDAR_SYNC = "calendar"


ANY_KIND = "any"
# Daily counter fields per kind: (event counter, first-seen-session counter).
COUNTERS = {
    EventKind.VIEW: ("views", "new_view_sessions"),
    EventKind.OUTBOUND_CLICK: ("outbound_clicks", "new_outbound_sessions"),
    EventKind.CALENDAR_SYNC: ("calendar_syncs", "new_calendar_sessions"),
}
NEW_ANY_SESSIONS = "new_sessions"
DAILY_FIELDS = (
    "views", "outbound_clicks", "calendar_syncs",
    NEW_ANY_SESSIONS, "new_view_sessions", "new_outbound_sessions", "new_calendar_sessions",
)  # fmt: skip
DUPLICATE_KEY = 11000
NO_DIGEST = {"token_digest": 0}  # the token digest never leaves data access

EVENT_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
TIER_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
MAX_WINDOW = timedelta(days=366)


# --- validation ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewActivation:
    """Validated fields of a new activation."""

    event_key: str
    event_name: str
    tier: str
    start_at: datetime
    end_at: datetime
    status: ActivationStatus


def validate_new_activation(
    event_key: str, event_name: str, tier: str, start_at: datetime, end_at: datetime,
    status: ActivationStatus,
) -> NewActivation:  # fmt: skip
    """Every field checked before anything is written; BAD_USER_INPUT names the field."""
    if not EVENT_KEY_RE.match(event_key):
        raise BadUserInput("1 to 80 characters of A-Z a-z 0-9 _ -", field="eventKey")
    name = event_name.strip()
    if not 1 <= len(name) <= 200:
        raise BadUserInput("must be 1 to 200 characters", field="eventName")
    check_printable(name, "eventName")
    if not TIER_RE.match(tier):
        raise BadUserInput("1 to 40 characters of a-z 0-9 _ -", field="tier")
    if end_at <= start_at:
        raise BadUserInput("must be after startAt", field="endAt")
    if end_at - start_at > MAX_WINDOW:
        raise BadUserInput("an activation spans at most 366 days", field="endAt")
    if status not in VISIBLE_STATUSES:
        raise BadUserInput("unknown status", field="status")
    return NewActivation(event_key, name, tier, _ms(start_at), _ms(end_at), status)


def _ms(value: datetime) -> datetime:
    # BSON dates hold milliseconds; truncating up front keeps what we return equal to what we store.
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def validate_session_id(session_id: str) -> str:
    if not SESSION_RE.match(session_id):
        raise BadUserInput("8 to 128 characters of A-Z a-z 0-9 _ -", field="sessionId")
    return session_id


# --- activations ---------------------------------------------------------------------


async def insert_activation(
    db: Database, partner_id: str, fields: NewActivation, token: str | None = None,
    activation_id: str | None = None,
) -> tuple[Document, str]:  # fmt: skip
    """Create an activation; returns it and its token (shown this once, stored as a digest)."""
    token = token or creds.new_activation_token()
    now = utcnow()
    doc: Document = {
        "_id": activation_id or new_id("act"),
        "partner_id": partner_id,
        "event_key": fields.event_key,
        "event_name": fields.event_name,
        "tier": fields.tier,
        "start_at": fields.start_at,
        "start_ms": epoch_ms(fields.start_at),
        "end_at": fields.end_at,
        "status": fields.status.value,
        "token_digest": creds.digest(token),
        "created_at": now,
    }
    await db.activations.insert_one(doc)
    return _public(doc), token


def _public(doc: Document) -> Document:
    return {k: v for k, v in doc.items() if k != "token_digest"}


async def delete_activation(db: Database, scope: Scope, activation_id: str) -> Document | None:
    """Mark deleted (kills the token); None when not visible to the caller."""
    return await db.activations.find_one_and_update(
        {**scope.tenant(), "_id": activation_id, "status": {"$in": list(VISIBLE_STATUSES)}},
        # Only the status is read back: the embedded store turns a `$set` datetime into a
        # string, so `deleted_at` is audit data, never compared.
        {"$set": {"status": ActivationStatus.DELETED.value, "deleted_at": utcnow()}},
        projection=NO_DIGEST,
        return_document=ReturnDocument.AFTER,
    )  # fmt: skip


async def set_status(
    db: Database, scope: Scope, activation_id: str, current: str, status: ActivationStatus
) -> Document | None:
    """Move to `status` only if still at `current` (a racing change makes this return None)."""
    return await db.activations.find_one_and_update(
        {**scope.tenant(), "_id": activation_id, "status": current},
        {"$set": {"status": status.value}},
        projection=NO_DIGEST,
        return_document=ReturnDocument.AFTER,
    )


class ActivationByIdLoader(ScopedLoader[str, Document | None]):
    """Visible (not deleted) activations by id, within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = _visible({**self.scope.tenant(), "_id": {"$in": keys}})
        rows = await self.db.activations.find(query, projection=NO_DIGEST).to_list(None)
        return in_key_order(keys, rows)


def _visible(query: dict[str, Any]) -> dict[str, Any]:
    return {**query, "status": {"$in": list(VISIBLE_STATUSES)}}


async def find_visible_activation(
    db: Database, partner_id: str, activation_id: str
) -> Document | None:
    """One visible activation, read fresh (live stats recompute from it on every change)."""
    return await db.activations.find_one(
        _visible({"partner_id": partner_id, "_id": activation_id}), projection=NO_DIGEST
    )


async def list_activations(
    db: Database, scope: Scope, status: ActivationStatus | None, partner_id: str | None,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    query: dict[str, Any] = {}
    if partner_id is not None:
        query["partner_id"] = partner_id
    query.update(scope.tenant())  # a tenant's own filter always wins over a requested partner
    query["status"] = status.value if status else {"$in": list(VISIBLE_STATUSES)}
    return await paginate(
        db.activations, query, sort=[("start_ms", -1), ("_id", -1)], first=first, after=after,
        projection=NO_DIGEST,
    )  # fmt: skip


@dataclass(frozen=True)
class TokenCheck:
    """Outcome of presenting a stats token for one activation id."""

    activation: Document | None
    exists: bool  # False: no such (visible or deleted) activation at all


async def check_token(db: Database, activation_id: str, token: str) -> TokenCheck:
    """The activation the token opens, or whether the id exists at all (for 403 vs 404).

    Success costs one query; only a refused token looks the id up again.
    """
    doc = await find_activation_by_token(db, token, activation_id)
    if doc is not None:
        return TokenCheck(_public(doc), exists=True)
    other = await db.activations.find_one({"_id": activation_id}, projection={"_id": 1})
    return TokenCheck(None, exists=other is not None)


async def activation_exists(db: Database, activation_id: str) -> bool:
    """Whether the id names any activation, deleted ones included (403 vs 404)."""
    return await db.activations.find_one({"_id": activation_id}, projection={"_id": 1}) is not None


# --- tracking ------------------------------------------------------------------------


def day_of(moment: datetime) -> str:
    return moment.date().isoformat()


def _fact(activation: Document, whole_window: bool, day: str, kind: str, session: str) -> Document:
    # `_id` is the fact itself, so the always-present unique `_id` index settles races.
    bucket = "all" if whole_window else "day"
    return {
        "_id": f"{activation['_id']}:{'all' if whole_window else day}:{kind}:{session}",
        "partner_id": activation["partner_id"],
        "activation_id": activation["_id"],
        "bucket": bucket,
        "day": day,
        "kind": kind,
        "session": session,
        # One scalar to group on: the embedded store cannot `$group` by a document `_id`.
        "kind_session": f"{kind}:{session}",
    }


async def record_event(
    db: Database, activation: Document, kind: EventKind, session_id: str, at: datetime
) -> None:
    """Count one event: session facts first (unique `_id`), then one `$inc` on the day.

    Two commands whatever the volume. A fact insert that loses a race (duplicate key)
    simply does not increment its first-seen counter, so concurrent senders of the same
    session are counted once.
    """
    day = day_of(at)
    facts = [
        _fact(activation, True, day, kind.value, session_id),
        _fact(activation, True, day, ANY_KIND, session_id),
        _fact(activation, False, day, kind.value, session_id),
        _fact(activation, False, day, ANY_KIND, session_id),
    ]
    duplicates: set[int] = set()
    try:
        await db.activation_sessions.insert_many(facts, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        duplicates = {int(e["index"]) for e in errors}
    event_field, new_session_field = COUNTERS[kind]
    inc = {event_field: 1}
    if 0 not in duplicates:
        inc[new_session_field] = 1
    if 1 not in duplicates:
        inc[NEW_ANY_SESSIONS] = 1
    await db.activation_daily.update_one(
        {"_id": f"{activation['_id']}:{day}"},
        {
            "$inc": inc,
            "$setOnInsert": {
                "partner_id": activation["partner_id"],
                "activation_id": activation["_id"],
                "day": day,
                **{f: 0 for f in DAILY_FIELDS if f not in inc},
            },
        },
        upsert=True,
    )


def accepts_events(activation: Document, now: datetime) -> bool:
    """Live and inside its window right now."""
    return bool(
        activation["status"] == ActivationStatus.LIVE
        and activation["start_at"] <= now <= activation["end_at"]
    )


# --- stats ---------------------------------------------------------------------------


def rate(numerator: int, denominator: int) -> float:
    """numerator / denominator * 100 with one decimal (half up); 0 when the denominator is 0."""
    if denominator <= 0:
        return 0.0
    exact = Decimal(numerator * 100) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Metrics:
    """Seed-000 metrics of one activation over one range."""

    click_count: int = 0
    outbound_click_count: int = 0
    calendar_sync_count: int = 0
    unique_session_count: int = 0
    unique_view_session_count: int = 0
    unique_outbound_session_count: int = 0
    unique_calendar_session_count: int = 0

    @property
    def outbound_session_rate(self) -> float:
        return rate(self.unique_outbound_session_count, self.unique_view_session_count)

    @property
    def calendar_session_rate(self) -> float:
        return rate(self.unique_calendar_session_count, self.unique_view_session_count)

    @property
    def outbound_interaction_rate(self) -> float:
        return rate(self.unique_outbound_session_count, self.unique_session_count)

    @property
    def calendar_interaction_rate(self) -> float:
        return rate(self.unique_calendar_session_count, self.unique_session_count)


def _event_sums(days: Sequence[Document]) -> dict[str, int]:
    return {f: sum(int(d.get(f, 0)) for d in days) for f in DAILY_FIELDS}


def _window_metrics(days: Sequence[Document]) -> Metrics:
    s = _event_sums(days)
    return Metrics(
        click_count=s["views"],
        outbound_click_count=s["outbound_clicks"],
        calendar_sync_count=s["calendar_syncs"],
        unique_session_count=s[NEW_ANY_SESSIONS],
        unique_view_session_count=s["new_view_sessions"],
        unique_outbound_session_count=s["new_outbound_sessions"],
        unique_calendar_session_count=s["new_calendar_sessions"],
    )


async def window_metrics(
    db: Database, scope_filter: dict[str, Any], keys: Sequence[tuple[str, str]]
) -> list[Metrics]:
    """Whole-window metrics of several (partner id, activation id) pairs: ONE find.

    `scope_filter` is the caller's tenant filter (or the token-verified partner), which
    overrides the requested partners so a key of another tenant yields zeros, never data.
    """
    if not keys:
        return []
    query: dict[str, Any] = {
        "partner_id": {"$in": sorted({p for p, _ in keys})},
        "activation_id": {"$in": sorted({a for _, a in keys})},
        **scope_filter,
    }
    rows = await db.activation_daily.find(query, projection={"_id": 0, "day": 0}).to_list(None)
    by_activation: dict[tuple[str, str], list[Document]] = {}
    for row in rows:
        by_activation.setdefault((row["partner_id"], row["activation_id"]), []).append(row)
    return [_window_metrics(by_activation.get(key, [])) for key in keys]


async def range_metrics(
    db: Database, activation: Document, first_day: str, last_day: str
) -> Metrics:
    """Metrics over whole UTC days first_day..last_day: one find + one aggregation.

    Distinct sessions come from the per-day facts: group by "kind:session" to make each
    session count once across the days, then count per kind.
    """
    base = {"partner_id": activation["partner_id"], "activation_id": activation["_id"]}
    days = await db.activation_daily.find(
        {**base, "day": {"$gte": first_day, "$lte": last_day}}, projection={"_id": 0}
    ).to_list(None)
    pipeline: list[dict[str, Any]] = [
        match_stage(base, {"bucket": "day", "day": {"$gte": first_day, "$lte": last_day}}),
        {"$group": {"_id": "$kind_session", "kind": {"$first": "$kind"}}},
        {"$group": {"_id": "$kind", "n": {"$sum": 1}}},
    ]
    cursor = await db.activation_sessions.aggregate(pipeline)
    unique = {row["_id"]: int(row["n"]) async for row in cursor}
    s = _event_sums(days)
    return Metrics(
        click_count=s["views"],
        outbound_click_count=s["outbound_clicks"],
        calendar_sync_count=s["calendar_syncs"],
        unique_session_count=unique.get(ANY_KIND, 0),
        unique_view_session_count=unique.get(EventKind.VIEW.value, 0),
        unique_outbound_session_count=unique.get(EventKind.OUTBOUND_CLICK.value, 0),
        unique_calendar_session_count=unique.get(EventKind.CALENDAR_SYNC.value, 0),
    )


@dataclass(frozen=True)
class StatsRange:
    """The range stats cover; `whole_window` when it spans all of the activation's days."""

    start_at: datetime
    end_at: datetime
    first_day: str
    last_day: str
    whole_window: bool


def stats_range(
    activation: Document, start_at: datetime | None, end_at: datetime | None
) -> StatsRange:
    """The activation's window, or a narrower range inside it (counted in whole UTC days)."""
    window_start, window_end = activation["start_at"], activation["end_at"]
    start = window_start if start_at is None else start_at
    end = window_end if end_at is None else end_at
    if not window_start <= start <= window_end:
        raise BadUserInput("must lie within the activation's window", field="startAt")
    if not window_start <= end <= window_end:
        raise BadUserInput("must lie within the activation's window", field="endAt")
    if end < start:
        raise BadUserInput("must not be before startAt", field="endAt")
    first_day, last_day = day_of(start), day_of(end)
    whole = first_day == day_of(window_start) and last_day == day_of(window_end)
    return StatsRange(start, end, first_day, last_day, whole)


class WindowMetricsByActivationLoader(ScopedLoader[tuple[str, str], Metrics]):
    """Whole-window metrics keyed by (partner id, activation id): one find per page."""

    async def load_batch(self, keys: list[tuple[str, str]]) -> list[Metrics]:
        return await window_metrics(self.db, self.scope.tenant(), keys)
