"""CRM incremental sync (seed 002 "Get the latest updated fans", scope `crm`)."""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.context import Info
from resolvers.crm import sync as resolve
from schema.connection import Connection
from schema.crm.types import READ, Fan


@strawberry.type
class Query:
    @strawberry.field(
        description="Fans by last change, oldest first, for incremental sync: changed on/after "
        "`lastUpdateDate` (UTC day); continue after a page with `after: endCursor` or the "
        "seed's `minTimeKey` (the last node's `fanTimeKey`). `first` 1..1000 (the seed's page; "
        "default 20; the cost limit counts `first` times the selection).",
        extensions=READ,
    )
    async def updated_fans(
        self, info: Info, last_update_date: date | None = None, min_time_key: str | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[Fan]:  # fmt: skip
        page = await resolve.updated_fans(info, last_update_date, min_time_key, first, after)
        return Connection.of(page, Fan.from_doc)
