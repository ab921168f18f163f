"""The seed's incremental ticket download (`ticketSync`) and fan tags sync (`fanTags`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput
from loaders.base import Page, check_first
from loaders.crm import tags_sync, tickets_sync
from resolvers.crm.common import write_partner
from resolvers.crm.tickets import ticket_filters


async def ticket_sync(
    info: Info, min_seq: int | None, max_seq: int | None, descending: bool, filter: Any,
    first: int | None, partner_id: str | None,
) -> tickets_sync.TicketBatch:  # fmt: skip
    limit = check_first(first, tickets_sync.MAX_TICKET_SYNC_PAGE)
    for value, field in ((min_seq, "minSequence"), (max_seq, "maxSequence")):
        if value is not None and value < 0:
            raise BadUserInput("must be 0 or more", field=field)
    if min_seq is not None and max_seq is not None and max_seq <= min_seq:
        raise BadUserInput("must be above minSequence", field="maxSequence")
    filters = ticket_filters(filter)
    for lo, hi, name in (("min_purchase_date", "max_purchase_date", "maxPurchaseDate"),
                         ("min_last_update_date", "max_last_update_date",
                          "maxLastUpdateDate")):  # fmt: skip
        if filters.get(lo) and filters.get(hi) and filters[hi] < filters[lo]:
            raise BadUserInput("must not be before its lower bound", field=f"filter.{name}")
    # One partner's sequence: operators name it (sequences of two partners do not compare).
    partner = await write_partner(info, partner_id)
    return await tickets_sync.sync_tickets(
        info.context.db, partner, filters, min_seq, max_seq, descending, limit
    )


async def fan_tags(
    info: Info, start: datetime | None, end: datetime | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    check_first(first, tags_sync.MAX_TAG_SYNC_PAGE)
    if start is not None and end is not None and end <= start:
        raise BadUserInput("must be after startDate", field="endDate")
    return await tags_sync.list_fan_tags(
        info.context.db, info.context.scope, start, end, first, after
    )
