"""CRM incremental sync (seed 002 "Get the latest updated fans"): fans by last update.

Fans are ordered by `(updated_ms, _id)` (epoch-ms ints: the embedded store compares datetimes
at whole seconds in filters), which is also the seed's time key `<unix>_<ms>_<fan_id>`, so a
time key and a connection cursor are two spellings of the same position.
"""

from __future__ import annotations

import re
from datetime import date

from gateway.core.errors import BadUserInput
from gateway.storage.mongo import Database, Document
from loaders.base import IndexSpec, Page, Scope, conjoin, encode_cursor, paginate
from loaders.crm.common import day_start, to_ms

INDEXES = [IndexSpec("fans", [("partner_id", 1), ("updated_ms", 1), ("_id", 1)])]

UPDATED_FAN_SORT: list[tuple[str, int]] = [("updated_ms", 1), ("_id", 1)]
MAX_SYNC_PAGE = 1000  # the seed's page size of the updated-fans call
_TIME_KEY = re.compile(r"^([0-9]{1,12})_([0-9]{3})_(fan_[A-Za-z0-9_-]{1,64})$")


def time_key(doc: Document) -> str:
    """The seed's `fan_time_key` of a fan: `<unix seconds>_<milliseconds>_<fan id>`."""
    ms = int(doc["updated_ms"])
    return f"{ms // 1000}_{ms % 1000:03d}_{doc['_id']}"


def cursor_of_time_key(key: str, field: str = "minTimeKey") -> str:
    """The connection cursor at a time key (BAD_USER_INPUT when it is not one)."""
    match = _TIME_KEY.match(key)
    if match is None:
        raise BadUserInput("not a fan time key (<unix>_<ms>_<fan id>)", field=field)
    seconds, millis, fan_id = match.groups()
    return encode_cursor([int(seconds) * 1000 + int(millis), fan_id])


async def updated_fans(
    db: Database, scope: Scope, since: date | None, first: int | None, after: str | None
) -> Page:
    """Fans changed on/after the start of `since` (UTC), oldest change first."""
    condition = {"updated_ms": {"$gte": to_ms(day_start(since))}} if since else None
    return await paginate(
        db.fans, conjoin(scope.tenant(), condition), sort=UPDATED_FAN_SORT, first=first,
        after=after, max_first=MAX_SYNC_PAGE,
    )  # fmt: skip
