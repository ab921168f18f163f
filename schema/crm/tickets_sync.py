"""Seed 002 sync calls (scope `crm`): the incremental ticket download by sequence window
(`ticketSync`) and fan tags by creation window (`fanTags`)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders import crm as data
from resolvers.crm import tickets_sync as resolve
from schema.connection import Connection
from schema.crm.inputs import TicketFilter
from schema.crm.types import READ, Fan, Ticket


@strawberry.enum(description="Order of a sync window (the seed's meta `order`).")
class SyncOrder(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.type(
    description="One batch of the seed's incremental ticket download: `meta { order "
    "min_ticket_id max_ticket_id }` and `data`. Continue an ASC sync with "
    "`minSequence: <maxSequence of this batch>`, a DESC one with "
    "`maxSequence: <minSequence of this batch>`, while `hasMore`."
)
class TicketSyncBatch:
    order: SyncOrder = strawberry.field(description="Order of `tickets`.")
    min_sequence: int | None = strawberry.field(
        description="Smallest ticket sequence in this batch (null when empty)."
    )
    max_sequence: int | None = strawberry.field(
        description="Largest ticket sequence in this batch (null when empty)."
    )
    has_more: bool = strawberry.field(
        description="True when the window holds more tickets after this batch (in `order`)."
    )
    tickets: list[Ticket] = strawberry.field(
        description="The tickets, by sequence in `order`; select `fan` for the seed's "
        "`data=fan`."
    )


@strawberry.type(description="A tag a fan carries, with when the fan got it (fan tags sync).")
class FanTag:
    tag_name: str = strawberry.field(description="The tag (the seed's tag_name).")
    tag_id: strawberry.ID = strawberry.field(
        description="The tag's id: the tag itself, as `segments(type: TAG)` names it."
    )
    fan_id: strawberry.ID = strawberry.field(description="The fan carrying the tag.")
    created_at: datetime = strawberry.field(
        description="When the fan got the tag (the seed's creation_timestamp)."
    )

    @strawberry.field(description="The fan's first name (null if the fan has none).")
    async def first_name(self, info: Info) -> str | None:
        fan = await self._fan_doc(info)
        return (fan or {}).get("first_name") or None

    @strawberry.field(description="The fan's last name (null if the fan has none).")
    async def last_name(self, info: Info) -> str | None:
        fan = await self._fan_doc(info)
        return (fan or {}).get("last_name") or None

    @strawberry.field(description="The fan (null if it was deleted meanwhile).")
    async def fan(self, info: Info) -> Fan | None:
        doc = await self._fan_doc(info)
        return Fan.from_doc(doc) if doc else None

    async def _fan_doc(self, info: Info) -> Document | None:
        loaded: Document | None = await info.context.loaders.get(data.FanByIdLoader).load(
            str(self.fan_id)
        )
        return loaded

    @classmethod
    def from_doc(cls, doc: Document) -> FanTag:
        return cls(
            tag_name=doc["tag"], tag_id=strawberry.ID(doc["tag"]),
            fan_id=strawberry.ID(doc["fan_id"]),
            created_at=datetime.fromtimestamp(int(doc["created_ms"]) / 1000, UTC),
        )  # fmt: skip


@strawberry.type
class Query:
    @strawberry.field(
        description="The seed's incremental ticket download: tickets with "
        "`minSequence < sequence < maxSequence` (the seed's min/max_ticket_id, both "
        "exclusive, both optional), in `order` (default ASC), with the `tickets` filters "
        "(purchase and last-update days, email, `includeDeleted`: deleted tickets only on "
        "request). `first` 1..1000 (the seed's limit; default 20; the cost limit counts "
        "`first` times the selection). Operators name `partnerId`.",
        extensions=READ,
    )
    async def ticket_sync(
        self, info: Info, min_sequence: int | None = None, max_sequence: int | None = None,
        order: SyncOrder = SyncOrder.ASC, filter: TicketFilter | None = None,
        first: int | None = None, partner_id: strawberry.ID | None = None,
    ) -> TicketSyncBatch:  # fmt: skip
        batch = await resolve.ticket_sync(
            info, min_sequence, max_sequence, order is SyncOrder.DESC, filter, first, partner_id
        )
        return TicketSyncBatch(
            order=order, min_sequence=batch.min_seq, max_sequence=batch.max_seq,
            has_more=batch.has_more, tickets=[Ticket.from_doc(r) for r in batch.rows],
        )  # fmt: skip

    @strawberry.field(
        description="The seed's fan tags sync: every tag fans carry now, with when the fan got "
        "it, created strictly after `startDate` and strictly before `endDate` (both "
        "optional), oldest first. `first` 1..10000 (the seed's cap; default 20; the cost "
        "limit counts `first` times the selection); page on with `after`.",
        extensions=READ,
    )
    async def fan_tags(
        self, info: Info, start_date: datetime | None = None, end_date: datetime | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[FanTag]:  # fmt: skip
        page = await resolve.fan_tags(info, start_date, end_date, first, after)
        return Connection.of(page, FanTag.from_doc)
