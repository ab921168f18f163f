"""CRM activities (seed 002 "Download incremental list of activities" and "Aggregate Call to
obtain counters", scope `crm`): the id-window sync list and the activity counters."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from gateway.context import Info
from resolvers import crm as resolve
from schema.connection import Connection
from schema.crm.tickets_sync import SyncOrder
from schema.crm.types import READ, FanActivity


@strawberry.type(description="How many activities of a campaign carry one custom property.")
class ActivityCounter:
    partner_id: strawberry.ID = strawberry.field(description="Partner (the seed's account_id).")
    campaign_title: str = strawberry.field(description="Title of the campaign.")
    property_name: str = strawberry.field(description="Key of the custom property (`props`).")
    counter: int = strawberry.field(
        description="Number of the campaign's activities that carry the property."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Activities by `sequence` (the seed's activity_id) for incremental sync: "
        "`minSequence` / `maxSequence` are exclusive window bounds; without `order`, a "
        "`minSequence` window reads ASC (the next batch after the last one you have) and "
        "anything else DESC (newest first). Filters: `campaignId` (the seed's page_tab_id), "
        "`date` (the seed's activity_date, UTC day), `campaignTitle`, `fanId`. `first` 1..200 "
        "(the seed's page; default 20; the cost limit counts `first` times the selection). "
        "`include_details` is the selection of `fan`, `fanNetworks` and `fanIdolNames` (one "
        "query for the page).",
        extensions=READ,
    )
    async def activities(
        self, info: Info, min_sequence: int | None = None, max_sequence: int | None = None,
        order: SyncOrder | None = None, campaign_id: str | None = None,
        campaign_title: str | None = None,
        day: Annotated[date | None, strawberry.argument(name="date")] = None,
        fan_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[FanActivity]:  # fmt: skip
        filters = {
            "min_seq": min_sequence, "max_seq": max_sequence, "campaign_id": campaign_id,
            "campaign_title": campaign_title, "day": day.isoformat() if day else None,
            "fan_id": fan_id,
        }  # fmt: skip
        descending = None if order is None else order is SyncOrder.DESC
        page = await resolve.activities(info, filters, descending, first, after)
        return Connection.of(page, FanActivity.from_doc)

    @strawberry.field(
        description="Counters of custom properties in fan activities (the seed's aggregate "
        "call): per campaign title and property key, the number of activities carrying it, "
        "sorted by partner, title and key. Both filters optional (exact match). Operators see "
        "every partner unless they name `partnerId`.",
        extensions=READ,
    )
    async def activity_counters(
        self, info: Info, campaign_title: str | None = None, property_name: str | None = None,
        partner_id: strawberry.ID | None = None,
    ) -> list[ActivityCounter]:  # fmt: skip
        rows = await resolve.activity_counters(info, campaign_title, property_name, partner_id)
        return [
            ActivityCounter(partner_id=strawberry.ID(p), campaign_title=c, property_name=k,
                            counter=n)
            for p, c, k, n in rows
        ]  # fmt: skip
