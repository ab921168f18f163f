"""CRM incremental sync (seed 002): latest updated fans with the seed's time-key paging."""

from __future__ import annotations

from datetime import date

from gateway.context import Info
from gateway.core.errors import BadUserInput
from loaders.base import Page, check_first
from loaders.crm import sync as data


async def updated_fans(
    info: Info, since: date | None, min_time_key: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    check_first(first, data.MAX_SYNC_PAGE)
    if min_time_key is not None:
        if after is not None:
            raise BadUserInput("give minTimeKey or after, not both", field="minTimeKey")
        after = data.cursor_of_time_key(min_time_key.strip())
    return await data.updated_fans(info.context.db, info.context.scope, since, first, after)
